"""
Standard cell types of the pyNN.ann backend.

Each class keeps PyNN's standard parameter names (identity translations) and knows
how to register a group of cells with the engine (``_create_engine_group``).
Neuron models run as pretrained surrogates; the attribute ``surrogate`` names the
engine model that runs the cell type.
"""

import numpy as np
from pyNN.errors import InvalidParameterValueError
from pyNN.standardmodels import build_translations, cells

from . import unavailable

__all__ = [
    "HH_cond_exp", "SpikeSourcePoisson", "SpikeSourceArray", "SpikeSourceGamma",
    "SpikeSourcePoissonRefractory",
    # placeholders: constructing them raises NotImplementedError
    "IF_curr_alpha", "IF_curr_exp", "IF_curr_delta", "IF_cond_alpha", "IF_cond_exp",
    "IF_cond_exp_gsfa_grr", "IF_facets_hardware1", "EIF_cond_alpha_isfa_ista",
    "EIF_cond_exp_isfa_ista", "Izhikevich", "GIF_cond_exp", "PointNeuron",
    "SpikeSourceInhGamma",
]


def _identity_translations(celltype):
    return build_translations(*[(name, name) for name in celltype.default_parameters])


def _as_float_arrays(parameters):
    return {name: np.asarray(value, dtype=float) for name, value in parameters.items()}


def _spike_time_arrays(sequences):
    """Sequence objects (or array-likes) -> list of 1-D float arrays (ms)."""
    arrays = []
    for seq in sequences:
        value = getattr(seq, "value", seq)
        arrays.append(np.asarray(value, dtype=float).ravel())
    return arrays


class SurrogateCellType(object):
    """Mixin for cell types that the engine runs with a pretrained surrogate."""

    #: name of the engine (surrogate) model that runs this cell type
    surrogate = None
    #: state variables whose initial values the engine accepts (others are ignored)
    engine_state_variables = ("v", "gsyn_exc", "gsyn_inh")

    def _create_engine_group(self, engine, size, parameters, initial_values):
        initial = {name: np.asarray(initial_values[name], dtype=float)
                   for name in self.engine_state_variables if name in initial_values}
        return engine.add_surrogate_group(self.surrogate, size,
                                          _as_float_arrays(parameters), initial)

    def _engine_values(self, name, values):
        return np.asarray(values, dtype=float)


class HH_cond_exp(SurrogateCellType, cells.HH_cond_exp):
    __doc__ = cells.HH_cond_exp.__doc__
    translations = _identity_translations(cells.HH_cond_exp)
    receptor_types = ("excitatory", "inhibitory")
    surrogate = "HH_cond_exp"


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity_translations(cells.SpikeSourcePoisson)
    engine_state_variables = ()

    def _create_engine_group(self, engine, size, parameters, initial_values):
        p = _as_float_arrays(parameters)
        return engine.add_poisson_group(size, p["rate"], p["start"], p["duration"])

    def _engine_values(self, name, values):
        return np.asarray(values, dtype=float)


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity_translations(cells.SpikeSourceArray)
    engine_state_variables = ()

    def _create_engine_group(self, engine, size, parameters, initial_values):
        return engine.add_spike_array_group(_spike_time_arrays(parameters["spike_times"]))

    def _engine_values(self, name, values):
        return _spike_time_arrays(values)


class _RenewalSource(object):
    """A spike source whose spikes the engine draws as a renewal process."""

    engine_state_variables = ()
    renewal_kind = None

    def _create_engine_group(self, engine, size, parameters, initial_values):
        try:
            return engine.add_renewal_group(self.renewal_kind, size,
                                            _as_float_arrays(parameters))
        except ValueError as err:
            raise InvalidParameterValueError(str(err)) from None

    def _engine_values(self, name, values):
        return np.asarray(values, dtype=float)


class SpikeSourceGamma(_RenewalSource, cells.SpikeSourceGamma):
    __doc__ = cells.SpikeSourceGamma.__doc__
    translations = _identity_translations(cells.SpikeSourceGamma)
    renewal_kind = "gamma"


class SpikeSourcePoissonRefractory(_RenewalSource, cells.SpikeSourcePoissonRefractory):
    __doc__ = cells.SpikeSourcePoissonRefractory.__doc__
    translations = _identity_translations(cells.SpikeSourcePoissonRefractory)
    renewal_kind = "poisson_refractory"


def _no_surrogate(name):
    return unavailable(
        name,
        f"has no trained surrogate for {name} yet; available cell types: "
        "HH_cond_exp and the spike sources (see list_standard_models())")


IF_curr_alpha = _no_surrogate("IF_curr_alpha")
IF_curr_exp = _no_surrogate("IF_curr_exp")
IF_curr_delta = _no_surrogate("IF_curr_delta")
IF_cond_alpha = _no_surrogate("IF_cond_alpha")
IF_cond_exp = _no_surrogate("IF_cond_exp")
IF_cond_exp_gsfa_grr = _no_surrogate("IF_cond_exp_gsfa_grr")
IF_facets_hardware1 = _no_surrogate("IF_facets_hardware1")
EIF_cond_alpha_isfa_ista = _no_surrogate("EIF_cond_alpha_isfa_ista")
EIF_cond_exp_isfa_ista = _no_surrogate("EIF_cond_exp_isfa_ista")
Izhikevich = _no_surrogate("Izhikevich")
GIF_cond_exp = _no_surrogate("GIF_cond_exp")
PointNeuron = _no_surrogate("PointNeuron")
SpikeSourceInhGamma = unavailable(
    "SpikeSourceInhGamma", "does not support SpikeSourceInhGamma (inhomogeneous gamma "
    "process) yet; SpikeSourceGamma and SpikeSourcePoissonRefractory are available")
