"""Validation and benchmarking of pyNN.ann against converged reference simulators.

* :mod:`.metrics` -- accuracy metrics (coincidence factor Γ, precision/recall,
  masked Vm RMSE, rate error, network statistics); NumPy/Elephant only.
* :mod:`.single_cell` -- ``pynn-ann validate``: held-out single-cell protocols,
  pyNN.ann vs pyNN.neuron (CVODE); :func:`validate` returns the metrics.
* :mod:`.report` -- markdown tables and figures.
* :mod:`.benchmark` -- network timing on several backends (``benchmarks/hh_network.py``,
  ``benchmarks/coba_network.py``); the networks are in :mod:`.benchmark_networks`.
* :mod:`.work_precision` -- ``pynn-ann work-precision`` (``benchmarks/work_precision.py``):
  run time against Γ versus the converged run, pyNN.ann vs pyNN.neuron at several dt
  and CVODE tolerances; the NEURON run time at pyNN.ann's accuracy.
* :mod:`.network_replay` -- ``benchmarks/network_replay.py``: VAbenchmarks COBA/CUBA
  cells replayed open-loop with the input they received in a pyNN.neuron network
  (spike by spike against CVODE), and the network statistics against chaos (a NEURON
  run of the same network with its initial Vm perturbed).
"""

from .metrics import coincidence_factor, compare, precision_recall  # noqa: F401
