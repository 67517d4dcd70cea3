"""Training specifications: the parameter domain and input statistics of each cell type.

The domain declared here is copied into the shipped model's metadata at training
time; at run time only the metadata is consulted.
"""

import numpy as np

from .. import hh_channels, if_family, izhikevich


#: channel parameters of HH_cond_exp that may vary cell by cell (the "channels" regime
#: draws them; elsewhere they are PyNN's defaults): conductances (uS) and cm (nF)
#: log-uniform, reversal potentials (mV) uniform
HH_CHANNEL_RANGES = {"gbar_Na": (10.0, 40.0), "gbar_K": (3.0, 12.0),
                     "g_leak": (0.005, 0.05), "cm": (0.1, 0.5),
                     "e_rev_Na": (40.0, 60.0), "e_rev_K": (-100.0, -80.0)}


class HHCondExpSpec:
    """HH_cond_exp (Traub & Miles, as in PyNN). Synaptic kernels, reversal potentials,
    ``i_offset`` and ``e_rev_leak`` are handled exactly outside the network (the last as
    an equivalent constant current); the channel surrogate carries the gates and takes
    the channel parameters per cell (``v_offset``, which shifts NEURON's rate tables,
    stays fixed)."""

    name = "HH_cond_exp"
    cell = "ChannelSurrogateCell"  # the surrogate class `pynn-ann train` builds
    # parameters the surrogate was trained at: must match (relative tolerance 1e-6)
    fixed = {"v_offset": -63.0}
    # parameters that may vary cell by cell within [low, high]
    ranges = {"e_rev_leak": (-70.0, -55.0), "e_rev_E": (-10.0, 10.0),
              "e_rev_I": (-100.0, -60.0), "tau_syn_E": (0.1, 20.0),
              "tau_syn_I": (0.5, 30.0), "i_offset": (-0.2, 1.2), **HH_CHANNEL_RANGES}
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
        # nearly no synaptic input: rest and DC-driven firing under i_offset alone
        "quiet": {"mean_g_exc": (0.00001, 0.001), "mean_g_inh": (0.00001, 0.003),
                  "w_exc": (0.002, 0.05), "w_inh": (0.005, 0.1), "max_rate": 20000.0},
        # strong injected current (PyNN's examples/HH_cond_exp2.py injects 1 nA) with
        # anything from no synaptic input to the standard regime's
        "strong_current": {"mean_g_exc": (0.00001, 0.025), "mean_g_inh": (0.00001, 0.1),
                           "w_exc": (0.002, 0.05), "w_inh": (0.005, 0.1),
                           "max_rate": 20000.0, "i_offset": (0.3, 1.3)},
        # heterogeneous channels (HH_CHANNEL_RANGES) under standard to high-conductance
        # input
        "channels": {"mean_g_exc": (0.0003, 0.1), "mean_g_inh": (0.0005, 0.5),
                     "w_exc": (0.002, 0.05), "w_inh": (0.005, 0.1), "max_rate": 40000.0,
                     "channels": HH_CHANNEL_RANGES},
    }
    reference = "neuron-cvode"  # the converged reference (validation label)
    # reference cells simulated per regime by `pynn-ann train`, and their seeds
    training_sets = (("standard", 340, 1), ("high_conductance", 340, 2), ("quiet", 170, 3),
                     ("strong_current", 170, 4), ("channels", 340, 5))

    def weight_range(self):
        """{receptor: [smallest, largest]} synaptic weight (uS) of the training sets."""
        regimes = [self.input_regimes[name] for name, _, _ in self.training_sets]
        return {receptor: [min(r[key][0] for r in regimes), max(r[key][1] for r in regimes)]
                for receptor, key in (("excitatory", "w_exc"), ("inhibitory", "w_inh"))}

    def sample_parameters(self, rng, size, training=False):
        p = {k: np.full(size, v) for k, v in {**self.fixed, **hh_channels.DEFAULTS}.items()}
        p["e_rev_leak"] = rng.uniform(-70.0, -55.0, size)
        p["e_rev_E"] = np.where(rng.random(size) < 0.7, 0.0, rng.uniform(-10, 10, size))
        p["e_rev_I"] = np.where(rng.random(size) < 0.7, -80.0, rng.uniform(-95, -65, size))
        p["tau_syn_E"] = np.exp(rng.uniform(np.log(0.2), np.log(10.0), size))
        p["tau_syn_I"] = np.exp(rng.uniform(np.log(1.0), np.log(20.0), size))
        p["i_offset"] = np.where(rng.random(size) < 0.5, 0.0, rng.uniform(-0.1, 0.3, size))
        return p


def _log_uniform(rng, low, high, size):
    return np.exp(rng.uniform(np.log(low), np.log(high), size))


class IFSpec:
    """An integrate-and-fire type run by the shared membrane surrogate (``if_family``).

    Parameters and inputs are drawn relative to each cell's own scales (leak
    conductance g_L = cm / tau_m, threshold distance), so that every draw spans rest,
    subthreshold fluctuations and regular or irregular firing whatever the
    parameters.
    """

    v_init_range = (-80.0, -45.0)  # relative to v_rest + 15 mV (see sample_parameters)
    input_regimes = {"standard": {}}

    def __init__(self, name, cells, seed):
        self.name = name
        # the converged reference (validation label): pyNN.neuron has no IF_curr_delta;
        # NEST integrates it exactly (spikes on a 0.01 ms grid)
        self.reference = "nest-dt0.01" if name == "IF_curr_delta" else "neuron-cvode"
        self.synapse_type, self.shape = if_family.SYNAPSES[name]
        self.training_sets = (("standard", cells, seed),)
        self.model = if_family.MODELS[name]

    # synaptic time constants (ms) of the training data; held-out validation protocols
    # reach down to 0.1 ms (Brunel's network), beyond the training data
    training_tau_syn = (0.2, 40.0)
    validation_tau_syn = (0.1, 40.0)

    def sample_parameters(self, rng, size, training=False):
        tau_syn = self.training_tau_syn if training else self.validation_tau_syn
        p = {"tau_m": _log_uniform(rng, 3.0, 100.0, size),
             "cm": _log_uniform(rng, 0.1, 2.0, size),
             "v_rest": rng.uniform(-80.0, -55.0, size)}
        p["v_thresh"] = p["v_rest"] + rng.uniform(5.0, 25.0, size)
        p["v_reset"] = p["v_thresh"] - rng.uniform(2.0, 25.0, size)
        p["tau_refrac"] = np.where(rng.random(size) < 0.3, 0.1, rng.uniform(0.0, 5.0, size))
        rheobase = (p["v_thresh"] - p["v_rest"]) * p["cm"] / p["tau_m"]  # nA
        p["i_offset"] = np.where(rng.random(size) < 0.5, 0.0,
                                 rheobase * rng.uniform(-0.5, 1.5, size))
        if self.shape != "delta":
            p["tau_syn_E"] = _log_uniform(rng, *tau_syn, size)
            p["tau_syn_I"] = _log_uniform(rng, *tau_syn, size)
        if self.synapse_type == "conductance":
            p["e_rev_E"] = np.where(rng.random(size) < 0.7, 0.0, rng.uniform(-10, 10, size))
            p["e_rev_I"] = np.where(rng.random(size) < 0.5, -80.0, rng.uniform(-95, -65, size))
        if self.name == "IF_cond_exp_gsfa_grr":
            p.update(tau_sfa=_log_uniform(rng, 20.0, 500.0, size),
                     e_rev_sfa=rng.uniform(-90.0, -70.0, size),
                     q_sfa=_log_uniform(rng, 1.0, 30.0, size),
                     tau_rr=_log_uniform(rng, 0.5, 5.0, size),
                     e_rev_rr=rng.uniform(-90.0, -70.0, size),
                     q_rr=_log_uniform(rng, 100.0, 5000.0, size))
        if self.name == "IF_facets_hardware1":
            p["g_leak"] = 200.0 / p.pop("tau_m")
            for k in ("cm", "tau_refrac", "i_offset", "e_rev_E"):
                p.pop(k)
        return p

    def sample_v_init(self, rng, parameters, size):
        return parameters["v_rest"] + rng.uniform(-10.0, 1.0, size) * (
            parameters["v_thresh"] - parameters["v_rest"]) / 10.0

    def sample_inputs(self, rng, parameters, size, regime="standard"):
        """Time-averaged synaptic drive and weights, in kernel units (uS or nA)."""
        m = if_family.membrane_parameters(self.name, parameters)
        g_leak = m["cm"] / m["tau_m"]
        if self.synapse_type == "conductance":
            mean_e = g_leak * _log_uniform(rng, 0.03, 4.0, size)
            mean_i = g_leak * _log_uniform(rng, 0.05, 10.0, size)
            w_e = g_leak * _log_uniform(rng, 0.01, 1.0, size)
            w_i = g_leak * _log_uniform(rng, 0.02, 8.0, size)
        else:
            scale = g_leak * (m["v_thresh"] - m["v_rest"])  # current that reaches threshold
            mean_e = scale * _log_uniform(rng, 0.05, 3.0, size)
            mean_i = -scale * _log_uniform(rng, 0.05, 3.0, size)
            w_e = scale * _log_uniform(rng, 0.003, 0.3, size)
            w_i = -scale * _log_uniform(rng, 0.003, 0.5, size)
        if self.shape == "delta":  # weights are voltage jumps (mV): mean = rate * w * tau_m
            d = m["v_thresh"] - m["v_rest"]
            mean_e, mean_i = mean_e / scale * d, mean_i / scale * d
            w_e, w_i = w_e / scale * d, w_i / scale * d
        return mean_e, mean_i, w_e, w_i

    def kernel_integral(self, parameters, receptor):
        """ms: integral of the kernel of unit weight (mean drive = rate x weight x this)."""
        m = if_family.membrane_parameters(self.name, parameters)
        if self.shape == "delta":
            return m["tau_m"]
        tau = m["tau_syn_E" if receptor == "excitatory" else "tau_syn_I"]
        return tau * (np.e if self.shape == "alpha" else 1.0)


class EIFSpec(IFSpec):
    """An adaptive exponential type (AdEx), run by the exponential membrane surrogate.

    Parameters span the firing patterns of Naud et al. 2008 (tonic, adapting,
    bursting, irregular) around PyNN's defaults; inputs as for conductance-based IF
    cells, relative to each cell's leak conductance and threshold.
    """

    model = if_family.EIF_MODEL

    def sample_parameters(self, rng, size, training=False):
        p = {"tau_m": _log_uniform(rng, 5.0, 50.0, size),
             "cm": _log_uniform(rng, 0.1, 1.0, size),
             "v_rest": rng.uniform(-75.0, -60.0, size)}
        p["v_thresh"] = p["v_rest"] + rng.uniform(8.0, 25.0, size)
        p["delta_T"] = _log_uniform(rng, 0.5, 5.0, size)
        p["v_spike"] = p["v_thresh"] + np.maximum(rng.uniform(3.0, 7.0, size) * p["delta_T"], 3.0)
        p["v_reset"] = p["v_thresh"] - rng.uniform(2.0, 25.0, size)
        p["tau_refrac"] = np.where(rng.random(size) < 0.3, 0.1, rng.uniform(0.0, 5.0, size))
        g_leak = p["cm"] / p["tau_m"]  # uS
        p["a"] = np.where(rng.random(size) < 0.2, 0.0,
                          1e3 * g_leak * _log_uniform(rng, 0.02, 4.0, size))  # nS
        rheobase = (p["v_thresh"] - p["v_rest"]) * g_leak  # nA
        p["b"] = np.where(rng.random(size) < 0.2, 0.0,
                          rheobase * _log_uniform(rng, 0.01, 0.5, size))
        p["tau_w"] = _log_uniform(rng, 10.0, 500.0, size)
        p["i_offset"] = np.where(rng.random(size) < 0.4, 0.0,
                                 rheobase * rng.uniform(-0.5, 2.5, size))
        p["tau_syn_E"] = _log_uniform(rng, 0.1, 40.0, size)
        p["tau_syn_I"] = _log_uniform(rng, 0.1, 40.0, size)
        p["e_rev_E"] = np.where(rng.random(size) < 0.7, 0.0, rng.uniform(-10, 10, size))
        p["e_rev_I"] = np.where(rng.random(size) < 0.5, -80.0, rng.uniform(-95, -65, size))
        return p


class GIFSpec(IFSpec):
    """GIF_cond_exp (escape noise, spike-triggered current eta, moving threshold
    gamma), run by the leaky membrane surrogate and validated statistically (it is
    stochastic) against pyNN.nest's gif_cond_exp at the same dt, with repeated trials
    of identical inputs (``validation/stochastic.py``). Not in the membrane's training
    data. Parameters span fits of cortical neurons (Mensi et al. 2012, Pozzorini et
    al. 2015): three eta components (adapting), one or two gamma components."""

    stochastic = True

    def __init__(self, name="GIF_cond_exp"):
        self.name = name
        self.reference = "nest-dt0.1"  # the same discretisation of the escape noise
        self.synapse_type, self.shape = if_family.GIF_SYNAPSES[name]
        self.training_sets = ()
        self.model = if_family.MODEL

    def sample_parameters(self, rng, size, training=False):
        p = {"cm": _log_uniform(rng, 0.05, 0.5, size),
             "tau_m": _log_uniform(rng, 5.0, 40.0, size),
             "v_rest": rng.uniform(-75.0, -60.0, size)}
        p["v_t_star"] = p["v_rest"] + rng.uniform(10.0, 25.0, size)
        p["v_reset"] = p["v_t_star"] - rng.uniform(5.0, 20.0, size)
        p["delta_v"] = _log_uniform(rng, 0.5, 4.0, size)
        p["lambda0"] = _log_uniform(rng, 1.0, 50.0, size)
        p["tau_refrac"] = rng.uniform(1.0, 5.0, size)
        p["tau_syn_E"] = _log_uniform(rng, 1.0, 10.0, size)
        p["tau_syn_I"] = _log_uniform(rng, 2.0, 20.0, size)
        p["e_rev_E"] = np.zeros(size)
        p["e_rev_I"] = rng.uniform(-90.0, -70.0, size)
        g_leak = p["cm"] / p["tau_m"]  # uS
        rheobase = (p["v_t_star"] - p["v_rest"]) * g_leak  # nA
        p["i_offset"] = np.where(rng.random(size) < 0.5, 0.0,
                                 rheobase * rng.uniform(-0.5, 1.2, size))
        # eta_j: jumps worth 0.3-4 mV of the leak's steady state each
        p["tau_eta"] = np.column_stack([_log_uniform(rng, lo, hi, size) for lo, hi in
                                        ((2.0, 15.0), (20.0, 100.0), (150.0, 600.0))])
        p["a_eta"] = g_leak[:, None] * _log_uniform(rng, 0.3, 4.0, (size, 3))
        p["tau_gamma"] = np.column_stack([_log_uniform(rng, 5.0, 30.0, size),
                                          _log_uniform(rng, 80.0, 500.0, size)])
        p["a_gamma"] = np.column_stack([rng.uniform(0.0, 10.0, size),
                                        rng.uniform(0.0, 5.0, size)])
        one = rng.random(size) < 0.3  # some cells have a single gamma component
        p["tau_gamma"][one, 1] = np.nan
        p["a_gamma"][one, 1] = np.nan
        return p

    def sample_v_init(self, rng, parameters, size):
        return parameters["v_rest"] + rng.uniform(-5.0, 5.0, size)

    def sample_inputs(self, rng, parameters, size, regime="standard"):
        """Time-averaged conductances and weights (uS), relative to the leak: from
        rare spikes to tens of Hz, fluctuation- and mean-driven."""
        g_leak = parameters["cm"] / parameters["tau_m"]
        mean_e = g_leak * _log_uniform(rng, 0.3, 3.0, size)
        mean_i = g_leak * _log_uniform(rng, 0.1, 1.5, size)
        w_e = g_leak * _log_uniform(rng, 0.02, 0.5, size)
        w_i = g_leak * _log_uniform(rng, 0.05, 2.0, size)
        return mean_e, mean_i, w_e, w_i


SPECS = {"HH_cond_exp": HHCondExpSpec()}
SPECS.update({name: EIFSpec(name, cells, seed) for name, cells, seed in (
    ("EIF_cond_exp_isfa_ista", 160, 18), ("EIF_cond_alpha_isfa_ista", 80, 19))})
# (cell type, reference cells for training, data seed)
SPECS.update({name: IFSpec(name, cells, seed) for name, cells, seed in (
    ("IF_cond_exp", 120, 12), ("IF_curr_exp", 120, 16), ("IF_cond_alpha", 80, 11),
    ("IF_curr_alpha", 80, 14), ("IF_cond_exp_gsfa_grr", 60, 13),
    ("IF_facets_hardware1", 40, 17), ("IF_curr_delta", 0, 15))})
SPECS["GIF_cond_exp"] = GIFSpec()


class IzhikevichSpec:
    """PyNN's Izhikevich type (``surrogates/izhikevich.py``), delta synapses (mV).

    Parameters: Izhikevich's classic classes (RS, IB, CH, FS, LTS, TC, RZ), PyNN's
    defaults and the PyNN examples' values, and draws across the whole declared box
    (a, b, c, d, i_offset). Inputs: excitatory and inhibitory Poisson trains of
    voltage jumps whose mean drive (mV/ms) spans rest, fluctuation-driven and tonic
    firing, plus i_offset.
    """

    name = model = izhikevich.MODEL
    reference = "neuron-cvode"
    # mean excitatory drive (mV/ms) and the inhibitory one as a fraction of it;
    # "strong" (training only) reaches the high rates and large u of strongly driven
    # cells with large d
    input_regimes = {"standard": {"mean_e": (0.3, 20.0), "inh_fraction": (0.1, 1.0)},
                     "strong": {"mean_e": (5.0, 40.0), "inh_fraction": (0.1, 0.5)}}
    v_init_range = (-78.0, -52.0)
    training_sets = (("standard", 300, 21), ("strong", 80, 22))
    # exact (a, b, c, d): the classes, PyNN's default and examples/Izhikevich.py
    named = dict(izhikevich.CLASSES, default=(0.02, 0.2, -65.0, 2.0),
                 example=(0.02, 0.2, -65.0, 6.0))
    max_rate = 5000.0  # Hz per input train (the grid holds one spike per step)

    def sample_parameters(self, rng, size, training=False):
        lo = {k: v[0] for k, v in izhikevich.DOMAIN.items()}
        hi = {k: v[1] for k, v in izhikevich.DOMAIN.items()}
        p = {"a": _log_uniform(rng, lo["a"], hi["a"], size),
             "b": rng.uniform(lo["b"], hi["b"], size),
             "c": rng.uniform(lo["c"], hi["c"], size),
             "d": np.where(rng.random(size) < 0.25, _log_uniform(rng, 0.02, 1.0, size),
                           rng.uniform(lo["d"], hi["d"], size))}
        named = list(self.named.values())
        pick = rng.integers(0, len(named), size)
        use = rng.random(size) < 0.4
        for k, name in enumerate(("a", "b", "c", "d")):
            p[name] = np.where(use, np.array([named[j][k] for j in pick]), p[name])
        kind = rng.random(size)
        p["i_offset"] = np.where(kind < 0.3, 0.0, np.where(
            kind < 0.8, rng.uniform(-0.005, 0.015, size),
            rng.uniform(lo["i_offset"], hi["i_offset"], size)))
        return p

    def sample_v_init(self, rng, parameters, size):
        return rng.uniform(*self.v_init_range, size)

    def sample_initial(self, rng, parameters, v_init, size):
        """u = -14 mV/ms, PyNN's default: pyNN.neuron ignores ``initialize(u=...)``
        (the mechanism's INITIAL block sets u = uinit after PyNN's initialisation), so
        the reference cannot start anywhere else. (Stated here so that u is recorded.)"""
        return {"u": np.full(size, -14.0)}

    def sample_inputs(self, rng, parameters, size, regime="standard"):
        """Mean drive (mV/ms) and jump sizes (mV) of the excitatory and inhibitory
        trains (the inhibitory ones negative)."""
        r = self.input_regimes[regime]
        mean_e = _log_uniform(rng, *r["mean_e"], size)
        mean_i = -mean_e * _log_uniform(rng, *r["inh_fraction"], size)
        w_e = _log_uniform(rng, 0.2, 6.0, size)
        w_i = -_log_uniform(rng, 0.2, 6.0, size)
        # at most max_rate: larger jumps for the strongest drives
        w_e = np.maximum(w_e, mean_e / self.max_rate * 1000.0)
        w_i = np.minimum(w_i, mean_i / self.max_rate * 1000.0)
        return mean_e, mean_i, w_e, w_i

    def kernel_integral(self, parameters, receptor):
        """A jump of w mV adds w mV: the mean drive is rate x w."""
        return np.ones_like(np.asarray(parameters["a"], dtype=float))

    @staticmethod
    def surrogate_inputs(data):
        return izhikevich.training_inputs(data)

    @staticmethod
    def loss_weights(inputs, v, clamp):
        return izhikevich.loss_weights(inputs, v, clamp)


SPECS[izhikevich.MODEL] = IzhikevichSpec()
