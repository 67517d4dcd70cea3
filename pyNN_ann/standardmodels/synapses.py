"""
Standard synapse types of the pyNN.ann backend.

Static synapses and Tsodyks-Markram short-term plasticity (computed exactly per
synapse by the engine, ``engine/short_term_plasticity.py``); the other plastic and
stochastic types are placeholders whose construction raises a clear
NotImplementedError.
"""

from pyNN.standardmodels import build_translations, synapses

from ..simulator import state
from . import unavailable

__all__ = [
    "StaticSynapse", "TsodyksMarkramSynapse",
    # placeholders: constructing them raises NotImplementedError
    "SimpleStochasticSynapse", "StochasticTsodyksMarkramSynapse",
    "MultiQuantalSynapse", "ElectricalSynapse", "STDPMechanism", "AdditiveWeightDependence",
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


def _no_plasticity(name):
    return unavailable(name, f"does not support {name} yet (StaticSynapse and "
                             "TsodyksMarkramSynapse are available)")


SimpleStochasticSynapse = _no_plasticity("SimpleStochasticSynapse")
StochasticTsodyksMarkramSynapse = _no_plasticity("StochasticTsodyksMarkramSynapse")
MultiQuantalSynapse = _no_plasticity("MultiQuantalSynapse")
ElectricalSynapse = _no_plasticity("ElectricalSynapse")
STDPMechanism = _no_plasticity("STDPMechanism")
AdditiveWeightDependence = _no_plasticity("AdditiveWeightDependence")
MultiplicativeWeightDependence = _no_plasticity("MultiplicativeWeightDependence")
AdditivePotentiationMultiplicativeDepression = _no_plasticity(
    "AdditivePotentiationMultiplicativeDepression")
GutigWeightDependence = _no_plasticity("GutigWeightDependence")
SpikePairRule = _no_plasticity("SpikePairRule")
Vogels2011Rule = _no_plasticity("Vogels2011Rule")
