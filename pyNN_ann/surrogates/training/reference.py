"""Run a :class:`Protocol` through the PyNN API on any backend.

Used to generate training data on the converged reference (pyNN.neuron with CVODE)
and to run the very same inputs on pyNN.ann for validation. Because pyNN.neuron keeps
CVODE settings across ``setup()`` calls, reference runs go through
:func:`run_in_subprocess`.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

from .. import if_family, izhikevich
from ...reference_simulators import (ALPHA_QUEUE_LENGTH, QUEUE_FULL, import_simulator,
                                      interpolate_threshold_crossings)
from .protocols import Protocol

CONVERGED_NEURON = {"use_cvode": True, "rtol": 1e-6, "atol": 1e-6}
NEST_EARLY_MS = 1e-6


def run_protocol(sim, protocol, timestep=None, record_gsyn=False, **setup_kwargs):
    """Simulate ``protocol`` with the PyNN module ``sim``.

    Returns a dict with ``v`` (cells x samples, mV, sampled every ``protocol.dt``
    including t = 0), ``spikes`` (list of arrays, ms) and optionally ``gsyn_exc`` and
    ``gsyn_inh``.
    """
    dt = timestep or protocol.dt
    # pyNN.nest relays SpikeSourceArray spikes through parrot neurons: its
    # spike_generator fires min_delay early and refuses times <= 0; min_delay is one step.
    # NEST rounds (t - min_delay) up to the next step: times go 1 ns early, below NEST's
    # tic (1 us), so that float error cannot make a spike one step late
    nest = sim.__name__.endswith(".nest")
    early = NEST_EARLY_MS if nest else 0.0
    sim.setup(timestep=dt, min_delay=dt if nest else protocol.delay, **setup_kwargs)
    interpolate_threshold_crossings(sim)
    celltype = _recordable_celltype(sim, protocol.celltype)
    cells = sim.Population(protocol.size, celltype(**_pynn_parameters(protocol.parameters)))
    cells.initialize(v=protocol.v_init, **protocol.initial)
    index = np.arange(protocol.size)
    for trains, weights, receptor in ((protocol.exc_spikes, protocol.exc_weight, "excitatory"),
                                      (protocol.inh_spikes, protocol.inh_weight, "inhibitory")):
        for shift, part in _by_shift(trains, dt if nest else 0.0):
            source = sim.Population(protocol.size, sim.SpikeSourceArray(
                spike_times=[sim.Sequence(t + shift - early) for t in part]))
            conn_list = np.column_stack([index, index, weights,
                                         np.full(protocol.size, protocol.delay - shift)])
            sim.Projection(source, cells, sim.FromListConnector(
                conn_list, column_names=["weight", "delay"]), sim.StaticSynapse(),
                receptor_type=receptor)
    on_grid = _grid_recorder(sim, cells, protocol, setup_kwargs)
    variables = ["spikes"] + ([] if on_grid else ["v"])
    variables += (["gsyn_exc", "gsyn_inh"] if record_gsyn else [])
    variables += [name for name in protocol.initial if name in celltype.recordable]
    cells.record(variables, sampling_interval=protocol.dt)
    sim.run(protocol.duration)
    seg = cells.get_data().segments[0]
    out = {"spikes": [np.asarray(st.rescale("ms").magnitude) for st in seg.spiketrains]}
    n_samples = int(round(protocol.duration / protocol.dt)) + 1
    grid = np.arange(n_samples) * protocol.dt
    for sig in seg.analogsignals:
        out[sig.name] = np.asarray(sig.magnitude).T[:, :n_samples]
    for sig in seg.irregularlysampledsignals:  # variable time step (CVODE)
        out[sig.name] = _to_grid(np.asarray(sig.times.rescale("ms").magnitude),
                                 np.asarray(sig.magnitude), grid)
    if on_grid:
        out["v"] = np.array([np.asarray(vec)[:n_samples] for vec in on_grid])
    sim.end()
    return out


#: cell types whose membrane jumps at input spikes: their samples must fall just
#: before each grid time (``GRID_EPSILON``), which NEURON's own grid recording does
#: not promise, so they keep the resampling of the variable-step output
VOLTAGE_JUMPS = tuple([name for name, (_, shape) in if_family.SYNAPSES.items()
                       if shape == "delta"] + [izhikevich.MODEL])


def _grid_recorder(sim, cells, protocol, setup_kwargs):
    """On pyNN.neuron with CVODE: NEURON ``Vector``s that record v at the grid times
    themselves (CVODE's own interpolant, ``Vector.record(&v, Dt)``), or None.

    PyNN records CVODE runs at the integrator's variable steps; resampling those onto
    a 0.01-ms grid (PCHIP) leaves errors up to 16 µV with ~0.1 mV RMS of one-step
    noise, more than the per-step correction a surrogate must learn there; the grid
    recording is within 0.6 µV, with ~1 µV of one-step noise (measured on IF_curr_exp
    against its closed-form solution).
    """
    if not (sim.__name__.endswith(".neuron") and setup_kwargs.get("use_cvode")
            and protocol.celltype not in VOLTAGE_JUMPS):
        return None
    from neuron import h
    vectors = []
    for cell in cells:
        vec = h.Vector()
        vec.record(cell._cell.source_section(0.5)._ref_v, protocol.dt)
        vectors.append(vec)
    return vectors


def _pynn_parameters(parameters):
    """Protocol parameters -> PyNN values: per-cell sequences ((size, K) arrays,
    NaN-padded) become one ArrayParameter per cell."""
    from pyNN.parameters import ArrayParameter
    out = {}
    for name, value in parameters.items():
        value = np.asarray(value)
        out[name] = ([ArrayParameter(row[~np.isnan(row)]) for row in value]
                     if value.ndim == 2 else value)
    return out


def _recordable_celltype(sim, name):
    """``sim``'s cell type ``name``; on pyNN.nest with ``v`` mapped where PyNN forgot.

    pyNN.nest's IF_curr_delta has no ``variable_map``, so neither ``record("v")`` nor
    ``initialize(v=...)`` reaches NEST's ``V_m``; a subclass supplies the map.
    """
    celltype = getattr(sim, name)
    if sim.__name__.endswith(".nest") and not hasattr(celltype, "variable_map"):
        celltype = type(name, (celltype,), {"variable_map": {"v": "V_m"}})
    return celltype


def _by_shift(trains, limit):
    """Split spike trains for a simulator that cannot send spikes at t <= ``limit``.

    Yields (shift, trains): the spikes after ``limit`` unshifted, then, if there are
    any, the early ones shifted by ``limit``, to be sent with the delay shortened by
    ``limit``, so that every spike still arrives at the cell at the same time.
    """
    yield 0.0, [t[t > limit] for t in trains]
    early = [t[t <= limit] for t in trains]
    if limit > 0 and any(len(t) for t in early):
        yield limit, early


#: the grid is sampled this much (ms) before each grid time: events that NEURON
#: delivers at a grid time (voltage jumps of delta synapses) land within a rounding
#: error either side of it, and the sample must hold the value before them, as the
#: engine records it (its step k adds the arrivals due at t_k after sampling v(t_k))
GRID_EPSILON = 1e-9


def _to_grid(times, values, grid):
    """Resample variable-step samples (times x cells) onto ``grid`` (cells x samples),
    taking for each grid time the value just before it (``GRID_EPSILON``)."""
    from scipy.interpolate import PchipInterpolator
    times, first = np.unique(times, return_index=True)
    at = np.maximum(np.asarray(grid) - GRID_EPSILON, times[0])
    return PchipInterpolator(times, values[first], axis=0)(at).T


def save_result(path, result):
    spikes = result["spikes"]
    arrays = {k: v for k, v in result.items() if k != "spikes"}
    np.savez_compressed(path, spike_counts=[len(s) for s in spikes],
                        spike_times=np.concatenate(spikes) if spikes else [], **arrays)


def load_result(path):
    d = np.load(path)
    out = {k: d[k] for k in d.files if k not in ("spike_counts", "spike_times")}
    out["spikes"] = np.split(d["spike_times"], np.cumsum(d["spike_counts"])[:-1])
    return out


def run_in_subprocess(protocol, simulator="neuron", options=None, record_gsyn=False,
                      timestep=None):
    """Run ``protocol`` on ``pyNN.<simulator>`` in a fresh Python process."""
    options = CONVERGED_NEURON if options is None else options
    with tempfile.TemporaryDirectory() as tmp:
        pin, pout = os.path.join(tmp, "protocol.npz"), os.path.join(tmp, "result.npz")
        protocol.save(pin)
        cmd = [sys.executable, "-m", __name__, pin, pout, "--simulator", simulator]
        for k, v in options.items():
            cmd += ["--option", f"{k}={v}"]
        if record_gsyn:
            cmd.append("--gsyn")
        if timestep:
            cmd += ["--timestep", str(timestep)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"reference run on pyNN.{simulator} failed:\n{proc.stderr[-3000:]}")
        if QUEUE_FULL in proc.stdout:
            raise RuntimeError(f"reference run on pyNN.{simulator} dropped input spikes "
                               f"({QUEUE_FULL!r}): more than {ALPHA_QUEUE_LENGTH} spikes "
                               "within 20 tau_syn of one alpha synapse")
        return load_result(pout)


def _parse_option(text):
    key, value = text.split("=", 1)
    for conv in (lambda s: {"True": True, "False": False}[s], int, float):
        try:
            return key, conv(value)
        except (KeyError, ValueError):
            pass
    return key, value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("protocol")
    parser.add_argument("result")
    parser.add_argument("--simulator", default="neuron")
    parser.add_argument("--option", action="append", default=[])
    parser.add_argument("--gsyn", action="store_true")
    parser.add_argument("--timestep", type=float, default=None)
    args = parser.parse_args(argv)
    sim = import_simulator(args.simulator)
    protocol = Protocol.load(args.protocol)
    result = run_protocol(sim, protocol, timestep=args.timestep, record_gsyn=args.gsyn,
                          **dict(_parse_option(o) for o in args.option))
    save_result(args.result, result)


if __name__ == "__main__":
    main()
