"""Training specifications: the parameter domain and input statistics of each cell type.

The domain declared here is copied into the shipped model's metadata at training
time; at run time only the metadata is consulted.
"""

import numpy as np


class HHCondExpSpec:
    """HH_cond_exp (Traub & Miles, as in PyNN). Synaptic kernels, reversal potentials,
    ``i_offset`` and ``e_rev_leak`` are handled exactly outside the network (the last as
    an equivalent constant current), so the surrogate only learns the intrinsic
    dynamics at the fixed channel parameters below."""

    name = "HH_cond_exp"
    # parameters the surrogate was trained at: must match (relative tolerance 1e-6)
    fixed = {"gbar_Na": 20.0, "gbar_K": 6.0, "g_leak": 0.01, "cm": 0.2,
             "v_offset": -63.0, "e_rev_Na": 50.0, "e_rev_K": -90.0}
    # parameters that may vary cell by cell within [low, high]
    ranges = {"e_rev_leak": (-70.0, -55.0), "e_rev_E": (-10.0, 10.0),
              "e_rev_I": (-100.0, -60.0), "tau_syn_E": (0.1, 20.0),
              "tau_syn_I": (0.5, 30.0), "i_offset": (-0.2, 0.4)}
    v_init_range = (-75.0, -55.0)
    reference_leak = -65.0  # e_rev_leak the network sees; others enter as a current
    spike_threshold = 10.0  # mV, pyNN.neuron's NetCon threshold for this model
    # input statistics per regime: time-averaged conductances (uS) and weights
    input_regimes = {
        # from rest through fluctuation-driven firing, low conductance
        "standard": {"mean_g_exc": (0.0003, 0.025), "mean_g_inh": (0.0005, 0.1),
                     "w_exc": (0.002, 0.05), "w_inh": (0.005, 0.1), "max_rate": 20000.0},
        # the high-conductance state of recurrent networks such as COBAHH
        # (Brette et al. 2007: ~0.1 uS excitation, ~0.5 uS inhibition)
        "high_conductance": {"mean_g_exc": (0.01, 0.25), "mean_g_inh": (0.03, 1.0),
                             "w_exc": (0.002, 0.02), "w_inh": (0.02, 0.1),
                             "max_rate": 40000.0},
    }
    # reference cells simulated per regime by `pynn-ann train`, and their seeds
    training_sets = (("standard", 340, 1), ("high_conductance", 340, 2))

    def sample_parameters(self, rng, size):
        p = {k: np.full(size, v) for k, v in self.fixed.items()}
        p["e_rev_leak"] = rng.uniform(-70.0, -55.0, size)
        p["e_rev_E"] = np.where(rng.random(size) < 0.7, 0.0, rng.uniform(-10, 10, size))
        p["e_rev_I"] = np.where(rng.random(size) < 0.7, -80.0, rng.uniform(-95, -65, size))
        p["tau_syn_E"] = np.exp(rng.uniform(np.log(0.2), np.log(10.0), size))
        p["tau_syn_I"] = np.exp(rng.uniform(np.log(1.0), np.log(20.0), size))
        p["i_offset"] = np.where(rng.random(size) < 0.5, 0.0, rng.uniform(-0.1, 0.3, size))
        return p


SPECS = {"HH_cond_exp": HHCondExpSpec()}
