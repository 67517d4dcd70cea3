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

from .. import simulator
from ..surrogates import if_family, izhikevich
from .composed import AdExp, LIF, PointNeuron  # noqa: F401

__all__ = [
    "HH_cond_exp", "IF_curr_alpha", "IF_curr_exp", "IF_curr_delta", "IF_cond_alpha",
    "IF_cond_exp", "IF_cond_exp_gsfa_grr", "IF_facets_hardware1", "EIF_cond_exp_isfa_ista",
    "EIF_cond_alpha_isfa_ista", "GIF_cond_exp", "Izhikevich",
    "SpikeSourcePoisson", "SpikeSourceArray", "SpikeSourceGamma",
    "SpikeSourcePoissonRefractory", "SpikeSourceInhGamma",
    # composed types (``composed.py``)
    "LIF", "AdExp", "PointNeuron",
]


def _identity_translations(celltype):
    return build_translations(*[(name, name) for name in celltype.default_parameters])


def _as_float_arrays(parameters):
    return {name: np.asarray(value, dtype=float) for name, value in parameters.items()}


def _spike_time_arrays(sequences):
    """Sequence objects (or array-likes) -> list of 1-D float arrays (ms); raises
    InvalidParameterValueError unless each is finite and in non-decreasing order."""
    arrays = []
    for cell, seq in enumerate(sequences):
        value = np.asarray(getattr(seq, "value", seq), dtype=float).ravel()
        if not np.isfinite(value).all() or (np.diff(value) < 0).any():
            raise InvalidParameterValueError(
                f"SpikeSourceArray: the spike times of cell {cell} ({value.tolist()[:10]}"
                f"{' ...' if value.size > 10 else ''}) must be finite numbers (ms) in "
                "increasing order")
        arrays.append(value)
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


class _IntegrateAndFire(SurrogateCellType):
    """Integrate-and-fire types: the shared membrane surrogate (``if_family``) with
    exact synaptic kernels, threshold, reset and refractory clamp."""

    receptor_types = ("excitatory", "inhibitory")
    engine_state_variables = ("v", "gsyn_exc", "gsyn_inh", "g_s", "g_r", "w")

    @property
    def surrogate(self):
        return if_family.MODELS[self.base_name]

    def _create_engine_group(self, engine, size, parameters, initial_values):
        name = self.base_name
        initial = {key: np.asarray(initial_values[key], dtype=float)
                   for key in self.engine_state_variables if key in initial_values}
        membrane = if_family.membrane_parameters(name, _as_float_arrays(parameters))
        return engine.add_surrogate_group(self.surrogate, size, membrane, initial,
                                          synapses=if_family.SYNAPSES[name])

    @property
    def base_name(self):
        return next(c.__name__ for c in type(self).__mro__ if c.__name__ in if_family.SYNAPSES)


class IF_curr_exp(_IntegrateAndFire, cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = _identity_translations(cells.IF_curr_exp)


class IF_curr_alpha(_IntegrateAndFire, cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    translations = _identity_translations(cells.IF_curr_alpha)


class IF_curr_delta(_IntegrateAndFire, cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    translations = _identity_translations(cells.IF_curr_delta)


class IF_cond_exp(_IntegrateAndFire, cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    translations = _identity_translations(cells.IF_cond_exp)


class IF_cond_alpha(_IntegrateAndFire, cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    translations = _identity_translations(cells.IF_cond_alpha)


class IF_cond_exp_gsfa_grr(_IntegrateAndFire, cells.IF_cond_exp_gsfa_grr):
    __doc__ = cells.IF_cond_exp_gsfa_grr.__doc__
    translations = _identity_translations(cells.IF_cond_exp_gsfa_grr)


class IF_facets_hardware1(_IntegrateAndFire, cells.IF_facets_hardware1):
    __doc__ = cells.IF_facets_hardware1.__doc__
    # natively a membrane time constant, as cm is fixed at 0.2 nF
    translations = build_translations(
        *[(name, name) for name in cells.IF_facets_hardware1.default_parameters
          if name != "g_leak"],
        ("g_leak", "tau_m", "0.2*1000.0/g_leak", "0.2*1000.0/tau_m"))


class EIF_cond_exp_isfa_ista(_IntegrateAndFire, cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    translations = _identity_translations(cells.EIF_cond_exp_isfa_ista)


class EIF_cond_alpha_isfa_ista(_IntegrateAndFire, cells.EIF_cond_alpha_isfa_ista):
    __doc__ = cells.EIF_cond_alpha_isfa_ista.__doc__
    translations = _identity_translations(cells.EIF_cond_alpha_isfa_ista)


class GIF_cond_exp(_IntegrateAndFire, cells.GIF_cond_exp):
    __doc__ = cells.GIF_cond_exp.__doc__ + """
    pyNN.ann runs the membrane on the shared ``IF_membrane`` surrogate, with the
    spike-triggered current -sum(eta_j) as an extra current; eta_j, the moving
    threshold v_t = v_t_star + sum(gamma_j) and the escape-noise spikes (hazard
    lambda0 exp((v - v_t) / delta_v), a spike with probability 1 - exp(-lambda dt)
    per step) are exact engine rules, in the order of NEST's gif_cond_exp
    (``pyNN_ann/engine/escape_noise.py``). The random numbers are a hash of (seed,
    step, cell): the same seed gives the same spikes on every backend, however the
    simulation is split into run() calls. Initial values of i_eta and v_t cannot be
    set (as in NEST): eta_j and gamma_j start at 0.
    """
    translations = _identity_translations(cells.GIF_cond_exp)
    engine_state_variables = ("v", "gsyn_exc", "gsyn_inh")
    surrogate = if_family.MODEL
    base_name = "GIF_cond_exp"

    def _create_engine_group(self, engine, size, parameters, initial_values):
        initial = {key: np.asarray(initial_values[key], dtype=float)
                   for key in self.engine_state_variables if key in initial_values}
        params = {name: self._engine_values(name, value) for name, value in parameters.items()}
        membrane = if_family.membrane_parameters(self.base_name, params)
        return engine.add_surrogate_group(self.surrogate, size, membrane, initial,
                                          synapses=if_family.GIF_SYNAPSES[self.base_name])

    def _engine_values(self, name, values):
        if name in if_family.GIF_COMPONENTS:  # one sequence per cell -> (n, K)
            return if_family.component_array(values)
        return np.asarray(values, dtype=float)

    def _push_parameters(self, engine, gid, updates, index):
        engine.set_cell_parameters(
            gid, {name: self._engine_values(name, v) for name, v in updates.items()}, index)


class Izhikevich(SurrogateCellType, cells.Izhikevich):
    __doc__ = cells.Izhikevich.__doc__
    translations = _identity_translations(cells.Izhikevich)
    # delta synapses: a spike of weight w (mV) makes v jump by w (inhibitory w < 0)
    receptor_types = ("excitatory", "inhibitory")
    surrogate = izhikevich.MODEL
    engine_state_variables = ("v", "u")


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


class SpikeSourceInhGamma(cells.SpikeSourceInhGamma):
    __doc__ = cells.SpikeSourceInhGamma.__doc__ + """
    pyNN.ann draws the process on the host (``pyNN_ann/engine/inh_gamma.py`` states
    the exact semantics, those of NEST's former inh_gamma_generator): within each bin
    of ``tbins`` the intervals are gamma(a, b) distributed (rate 1 / (a b) Hz, b in
    seconds), and the time since the last spike carries over bin boundaries.
    """
    translations = _identity_translations(cells.SpikeSourceInhGamma)
    engine_state_variables = ()

    def _create_engine_group(self, engine, size, parameters, initial_values):
        return simulator.state.host_sources.add_inh_gamma(engine, size, parameters)

    def _push_parameters(self, engine, gid, updates, index):
        simulator.state.host_sources.set(gid, updates, index)
