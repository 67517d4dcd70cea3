"""
Post-synaptic receptor components of the pyNN.ann backend, for the composed cell type
``PointNeuron`` (``standardmodels/composed.py``).

Each receptor becomes one synaptic channel of the engine with an exact kernel
(``engine/cell_rules.py``): exponential, alpha (peak w at t = tau_syn) or beta
(difference of exponentials tau_rise / tau_decay, peak w, as NEST's
``aeif_cond_beta_multisynapse``). Parameters keep PyNN's names and units.
"""

from pyNN.standardmodels import build_translations, receptors

__all__ = ["CurrExpPostSynapticResponse", "CondExpPostSynapticResponse",
           "CondAlphaPostSynapticResponse", "CondBetaPostSynapticResponse",
           "ExpPSR", "AlphaPSR", "BetaPSR"]


def _identity(component):
    return build_translations(*[(name, name) for name in component.default_parameters])


class CurrExpPostSynapticResponse(receptors.CurrExpPostSynapticResponse):
    __doc__ = receptors.CurrExpPostSynapticResponse.__doc__ + """
    pyNN.ann records ``isyn`` as the synaptic current into the cell, with the sign of
    the weights (positive for excitatory weights), as pyNN.nest and pyNN.brian2 do;
    pyNN.neuron records NEURON's outward-positive current, the opposite sign.
    """
    translations = _identity(receptors.CurrExpPostSynapticResponse)
    recordable = ["isyn"]
    shape = "exp"


class CondExpPostSynapticResponse(receptors.CondExpPostSynapticResponse):
    __doc__ = receptors.CondExpPostSynapticResponse.__doc__
    translations = _identity(receptors.CondExpPostSynapticResponse)
    recordable = ["gsyn"]
    shape = "exp"


class CondAlphaPostSynapticResponse(receptors.CondAlphaPostSynapticResponse):
    __doc__ = receptors.CondAlphaPostSynapticResponse.__doc__
    translations = _identity(receptors.CondAlphaPostSynapticResponse)
    recordable = ["gsyn"]
    shape = "alpha"


class CondBetaPostSynapticResponse(receptors.CondBetaPostSynapticResponse):
    __doc__ = receptors.CondBetaPostSynapticResponse.__doc__ + """
    A spike of weight w gives g(t) = w A (exp(-t / tau_decay) - exp(-t / tau_rise)),
    with A such that the peak is w (NEST's normalisation); equal time constants give
    the alpha kernel.
    """
    translations = _identity(receptors.CondBetaPostSynapticResponse)
    recordable = ["gsyn"]
    shape = "beta"


ExpPSR = CondExpPostSynapticResponse
AlphaPSR = CondAlphaPostSynapticResponse
BetaPSR = CondBetaPostSynapticResponse
