"""
Standard synapse types of the pyNN.ann backend.

Static synapses, Tsodyks-Markram short-term plasticity (computed exactly per
synapse by the engine, ``engine/short_term_plasticity.py``), STDP (pyNN.neuron's
weight adjusters, ``engine/stdp.py``) and the stochastic synapses (pyNN.neuron's
stochastic weight adjusters, ``engine/stochastic_synapses.py``). ElectricalSynapse is
a placeholder whose construction raises a clear NotImplementedError.
"""

import numpy as np
from pyNN import errors
from pyNN.standardmodels import build_translations, synapses

from ..engine import stdp
from ..engine import stochastic_synapses as sto
from ..simulator import state
from . import unavailable

__all__ = [
    "StaticSynapse", "TsodyksMarkramSynapse",
    "SimpleStochasticSynapse", "StochasticTsodyksMarkramSynapse", "MultiQuantalSynapse",
    # placeholder: constructing it raises NotImplementedError
    "ElectricalSynapse",
    # STDP
    "STDPMechanism", "AdditiveWeightDependence",
    "MultiplicativeWeightDependence", "AdditivePotentiationMultiplicativeDepression",
    "GutigWeightDependence", "SpikePairRule", "Vogels2011Rule",
]


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(
        ("weight", "weight"),
        ("delay", "delay"),
    )

    def _get_minimum_delay(self):
        return state.min_delay


class TsodyksMarkramSynapse(synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = build_translations(
        ("weight", "weight"),
        ("delay", "delay"),
        ("U", "U"),
        ("tau_rec", "tau_rec"),
        ("tau_facil", "tau_facil"),
    )
    #: the engine's name for these dynamics
    engine_dynamics = "tsodyks_markram"

    def _get_minimum_delay(self):
        return state.min_delay


def _same_names(*names):
    return build_translations(*((name, name) for name in names))


class _Stochastic:
    """Checks the scalar parameters of a stochastic synapse type when it is made
    (arrays and random distributions are checked when the Projection is built)."""

    def __init__(self, **parameters):
        super().__init__(**parameters)
        scalars = {}
        for name in sto.PARAMETERS[self.engine_dynamics]:
            value = self.parameter_space[name]
            if value.is_homogeneous and np.ndim(value.base_value) == 0 \
                    and isinstance(value.base_value, (int, float, np.number)):
                scalars[name] = float(value.base_value)
            else:
                scalars[name] = sto.DEFAULTS[self.engine_dynamics][name]
        try:
            sto.check(self.engine_dynamics, scalars)
        except ValueError as err:
            raise errors.InvalidParameterValueError(
                f"{type(self).__name__}: {err}") from None

    def _get_minimum_delay(self):
        return state.min_delay


class SimpleStochasticSynapse(_Stochastic, synapses.SimpleStochasticSynapse):
    __doc__ = synapses.SimpleStochasticSynapse.__doc__
    translations = _same_names("weight", "delay", "p")
    #: the engine's name for these dynamics
    engine_dynamics = "simple_stochastic"


class StochasticTsodyksMarkramSynapse(_Stochastic,
                                      synapses.StochasticTsodyksMarkramSynapse):
    __doc__ = synapses.StochasticTsodyksMarkramSynapse.__doc__
    translations = _same_names("weight", "delay", "U", "tau_rec", "tau_facil")
    engine_dynamics = "stochastic_tsodyks_markram"


class MultiQuantalSynapse(_Stochastic, synapses.MultiQuantalSynapse):
    """Synapse with ``n`` release sites, each of which releases with probability u
    (binomial release of the available sites) and, once used, recovers with rate
    1/tau_rec; u facilitates with tau_facil (Tsodyks-Markram, as NEST's
    quantal_stp_connection and pyNN.neuron's ``quantal_stp.mod``). Each release
    transmits weight / n.

    Arguments:
        `U`: maximal fraction of available resources (release probability).
        `n`: total number of release sites (a whole number).
        `tau_rec`: depression time constant (ms).
        `tau_facil`: facilitation time constant (ms).
    """
    translations = _same_names("weight", "delay", "U", "n", "tau_rec", "tau_facil")
    engine_dynamics = "multi_quantal"


class STDPMechanism(synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = _same_names("weight", "delay", "dendritic_delay_fraction")
    #: the engine's name for these dynamics
    engine_dynamics = "stdp"

    def __init__(self, timing_dependence=None, weight_dependence=None,
                 voltage_dependence=None, dendritic_delay_fraction=1.0,
                 weight=0.0, delay=None):
        if voltage_dependence is not None:
            raise NotImplementedError("pyNN.ann does not support STDP voltage dependence")
        if not isinstance(timing_dependence, (SpikePairRule, Vogels2011Rule)) or \
                not isinstance(weight_dependence, _WeightDependence):
            raise NotImplementedError(
                "pyNN.ann's STDPMechanism needs a timing_dependence (SpikePairRule or "
                "Vogels2011Rule) and a weight_dependence from pyNN.ann, got "
                f"{type(timing_dependence).__name__} and {type(weight_dependence).__name__}")
        stdp.check_kinds(timing_dependence.engine_name, weight_dependence.engine_name)
        super().__init__(timing_dependence, weight_dependence, None,
                         dendritic_delay_fraction, weight, delay)

    def _build_translations(self):
        # PyNN's version extends the class's dict in place, mixing the parameters of
        # every mechanism ever built
        self.translations = dict(self.base_translations)
        for component in (self.timing_dependence, self.weight_dependence):
            self.translations.update(component.translations)

    def engine_rule(self):
        """The engine's names of the timing rule and weight dependence."""
        return {"timing": self.timing_dependence.engine_name,
                "weight_dependence": self.weight_dependence.engine_name}

    def _get_minimum_delay(self):
        return state.min_delay


class _WeightDependence:
    """Marks pyNN.ann's weight dependences."""


class AdditiveWeightDependence(_WeightDependence, synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = _same_names("w_min", "w_max")
    engine_name = "additive"


class MultiplicativeWeightDependence(_WeightDependence,
                                     synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = _same_names("w_min", "w_max")
    engine_name = "multiplicative"


class AdditivePotentiationMultiplicativeDepression(
        _WeightDependence, synapses.AdditivePotentiationMultiplicativeDepression):
    __doc__ = synapses.AdditivePotentiationMultiplicativeDepression.__doc__
    translations = _same_names("w_min", "w_max")
    engine_name = "additive_potentiation_multiplicative_depression"


class GutigWeightDependence(_WeightDependence, synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__
    translations = _same_names("w_min", "w_max", "mu_plus", "mu_minus")
    engine_name = "gutig"


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = _same_names("tau_plus", "tau_minus", "A_plus", "A_minus")
    engine_name = "spike_pair"


class Vogels2011Rule(synapses.Vogels2011Rule):
    __doc__ = synapses.Vogels2011Rule.__doc__
    translations = _same_names("tau", "eta", "rho")
    engine_name = "vogels2011"


ElectricalSynapse = unavailable(
    "ElectricalSynapse",
    "does not support ElectricalSynapse (gap junctions): a gap junction injects "
    "g (v_pre - v_post) into both cells at every time step, computed from the other cell's "
    "membrane potential, but the compiled loop feeds the surrogates only spike-driven "
    "synaptic input and current sources; the standard cell types also have no gap-junction "
    "receptor (pyNN.neuron 0.13 accepts ElectricalSynapse only on cells with a "
    "'<section>.gap' receptor, not on standard point neurons, so there is no reference "
    "to validate against)")
