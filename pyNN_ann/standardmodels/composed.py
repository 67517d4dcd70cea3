"""
The composed cell type ``PointNeuron(neuron, **receptors)`` of PyNN 0.13 on pyNN.ann.

The neuron component runs on the membrane surrogate of its monolithic twin: ``LIF``
on ``IF_membrane`` (as IF_cond_exp, IF_curr_exp), ``AdExp`` on ``EIF_membrane`` (as
EIF_cond_*_isfa_ista; a in nS, b in nA, spikes at v_spike). Each named receptor is
one synaptic channel of the engine with its own exact kernel, time constants and
reversal potential; the surrogate sees only the aggregate steady state and rate, so
any number of receptors stays within its domain as long as the time constants do.

Parameters are stored flat under PyNN's dotted names ("tau_m", "AMPA.tau_syn");
``Population.set(AMPA={"tau_syn": 2.0})`` and ``set(**{"AMPA.tau_syn": 2.0})`` both
work, and ``get("AMPA.tau_syn")`` reads them back.
"""

import numpy as np
from pyNN import errors
from pyNN.parameters import ParameterSpace
from pyNN.standardmodels import build_translations, cells

from ..surrogates import if_family
from . import receptors as psr_types

__all__ = ["LIF", "AdExp", "PointNeuron"]

#: receptor parameter -> membrane parameter prefix (suffixed by the channel's)
_RECEPTOR_TO_MEMBRANE = {"tau_syn": "tau_syn", "tau_decay": "tau_syn",
                         "tau_rise": "tau_rise", "e_syn": "e_rev"}
_RECEPTORS = (psr_types.CurrExpPostSynapticResponse, psr_types.CondExpPostSynapticResponse,
              psr_types.CondAlphaPostSynapticResponse, psr_types.CondBetaPostSynapticResponse)


def _identity(component):
    return build_translations(*[(name, name) for name in component.default_parameters])


class LIF(cells.LIF):
    __doc__ = cells.LIF.__doc__
    translations = _identity(cells.LIF)
    surrogate = if_family.MODEL
    twin = "IF_cond_exp"  # the monolithic type whose membrane parameters it shares


class AdExp(cells.AdExp):
    __doc__ = cells.AdExp.__doc__
    translations = _identity(cells.AdExp)
    surrogate = if_family.EIF_MODEL
    twin = "EIF_cond_exp_isfa_ista"


class PointNeuron(cells.PointNeuron):
    __doc__ = """A point neuron composed of a neuron component (``LIF`` or ``AdExp``)
    and any number of named post-synaptic receptors (``CurrExpPostSynapticResponse``,
    ``CondExpPostSynapticResponse``, ``CondAlphaPostSynapticResponse``,
    ``CondBetaPostSynapticResponse``), e.g.
    ``PointNeuron(AdExp(), AMPA=AlphaPSR(tau_syn=1.0), GABAA=AlphaPSR(e_syn=-70.0))``.
    Receptors are conductance-based or current-based, not both (as in PyNN).
    """

    def __init__(self, neuron, **post_synaptic_receptors):
        if not isinstance(neuron, (LIF, AdExp)):
            raise NotImplementedError(
                f"pyNN.ann: PointNeuron composes the neuron components LIF and AdExp; "
                f"{type(neuron).__name__} with post-synaptic receptors has no surrogate")
        for name, psr in post_synaptic_receptors.items():
            if not isinstance(psr, _RECEPTORS):
                raise NotImplementedError(
                    f"pyNN.ann: receptor {name!r} is a {type(psr).__name__}; PointNeuron "
                    "accepts " + ", ".join(c.__name__ for c in _RECEPTORS))
            if "." in name:
                raise errors.InvalidModelError(f"receptor name {name!r} contains a '.'")
        kinds = {psr.conductance_based for psr in post_synaptic_receptors.values()}
        if len(kinds) > 1:
            raise errors.InvalidModelError(
                "Cannot mix conductance-based and current-based synaptic receptors")
        super().__init__(neuron, **post_synaptic_receptors)

    # -- parameters: flat, dotted names ------------------------------------------
    def _receptor_parameters(self, name):
        return [k for k in self.post_synaptic_receptors[name].default_parameters
                if k != "locations"]

    def get_parameter_names(self):
        return list(self.neuron.default_parameters) + [
            f"{r}.{k}" for r in self.receptor_types for k in self._receptor_parameters(r)]

    def has_parameter(self, name):
        return name in self.get_parameter_names()

    def get_schema(self):
        schema = dict(self.neuron.get_schema())
        for r in self.receptor_types:
            sub = {k: float for k in self._receptor_parameters(r)}
            schema[r] = sub
            schema.update({f"{r}.{k}": float for k in sub})
        return schema

    @property
    def conductance_based(self):
        kinds = {psr.conductance_based for psr in self.post_synaptic_receptors.values()}
        return kinds.pop() if kinds else False

    def computed_parameters_include(self, parameter_names):
        return False  # every parameter is stored as it is given

    def translate(self, parameters, copy=True):
        """Standard (possibly nested) parameters -> flat dotted names."""
        flat = {}
        for name, value in parameters.items():
            if isinstance(value, ParameterSpace):
                flat.update({f"{name}.{k}": v for k, v in value.items() if k != "locations"})
            elif not name.endswith(".locations"):
                flat[name] = value
        valid = set(self.get_parameter_names())
        for name in flat:
            if name not in valid:
                raise errors.NonExistentParameterError(name, self, sorted(valid))
        return ParameterSpace(flat, schema=None, shape=parameters.shape)

    def reverse_translate(self, native_parameters):
        return ParameterSpace(dict(native_parameters.items()), schema=None,
                              shape=native_parameters.shape)

    @property
    def native_parameters(self):
        return self.translate(self.parameter_space)

    def get_native_names(self, *names):
        return list(names) if names else self.get_parameter_names()

    # -- the engine ----------------------------------------------------------------
    @property
    def surrogate(self):
        return self.neuron.surrogate

    @property
    def engine_state_variables(self):
        return tuple(self.neuron.default_initial_values) + tuple(
            f"{r}.{v}" for r in self.receptor_types
            for v in self.post_synaptic_receptors[r].recordable)

    def _membrane_name(self, name):
        """Engine (membrane) name of a flat parameter name."""
        if "." not in name:
            return name
        receptor, param = name.split(".", 1)
        channel = self.receptor_types.index(receptor)
        return f"{_RECEPTOR_TO_MEMBRANE[param]}_{if_family.channel_suffix(channel)}"

    def _synapses(self):
        kind = "conductance" if self.conductance_based else "current"
        return kind, [(r, self.post_synaptic_receptors[r].shape) for r in self.receptor_types]

    def _create_engine_group(self, engine, size, parameters, initial_values):
        params = {k: np.asarray(v, dtype=float) for k, v in parameters.items()}
        membrane = if_family.membrane_parameters(
            self.neuron.twin, {k: v for k, v in params.items() if "." not in k})
        membrane.update({self._membrane_name(k): v for k, v in params.items() if "." in k})
        initial = {k: np.asarray(initial_values[k], dtype=float)
                   for k in self.engine_state_variables if k in initial_values}
        return engine.add_surrogate_group(self.surrogate, size, membrane, initial,
                                          synapses=self._synapses())

    def _engine_values(self, name, values):
        return np.asarray(values, dtype=float)

    def _push_parameters(self, engine, gid, updates, index):
        engine.set_cell_parameters(
            gid, {self._membrane_name(k): np.asarray(v, dtype=float)
                  for k, v in updates.items()}, index)
