"""Random single-cell input protocols used for training and validating surrogates.

A protocol describes, for each of N independent cells, its parameters, its initial
membrane potential, and the excitatory and inhibitory input spike trains that reach
it. Protocols are plain NumPy data, so the very same protocol can be run on any PyNN
backend (the reference simulator and pyNN.ann) and the results compared.

Input spike trains are inhomogeneous Poisson processes whose rate is piecewise
constant (segments of random length), so one trace sweeps rest, subthreshold
fluctuations and firing. Spike times lie on the time grid of ``dt`` so that every
simulator delivers them at the same instants.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Protocol:
    """Inputs and parameters for ``size`` independent cells, ``duration`` ms long."""

    celltype: str
    duration: float
    dt: float
    parameters: dict  # name -> array (size,), or (size, K) for per-cell sequences
    v_init: np.ndarray
    exc_spikes: list  # one sorted array of spike times (ms) per cell
    inh_spikes: list
    exc_weight: np.ndarray  # uS, one per cell
    inh_weight: np.ndarray
    delay: float = 1.0
    seed: int = 0
    meta: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)  # other state variables: name -> array


    @property
    def size(self):
        return len(self.v_init)

    def subset(self, index):
        """Protocol restricted to the cells in ``index``."""
        index = np.asarray(index)
        return Protocol(
            celltype=self.celltype, duration=self.duration, dt=self.dt,
            parameters={k: v[index] for k, v in self.parameters.items()},
            v_init=self.v_init[index],
            exc_spikes=[self.exc_spikes[i] for i in index],
            inh_spikes=[self.inh_spikes[i] for i in index],
            exc_weight=self.exc_weight[index], inh_weight=self.inh_weight[index],
            delay=self.delay, seed=self.seed, meta=dict(self.meta),
            initial={k: v[index] for k, v in self.initial.items()})

    def repeat(self, trials):
        """Each cell ``trials`` times in a row (cell c, trial t at c * trials + t): the
        same parameters and inputs, for stochastic cell types."""
        return self.subset(np.repeat(np.arange(self.size), trials))

    def save(self, path):
        flat = {k: v for k, v in self.parameters.items() if np.ndim(v) < 2}
        np.savez_compressed(
            path, celltype=self.celltype, duration=self.duration, dt=self.dt,
            v_init=self.v_init, exc_weight=self.exc_weight, inh_weight=self.inh_weight,
            delay=self.delay, seed=self.seed,
            param_names=np.array(list(flat)),
            param_values=np.array([flat[k] for k in flat]),
            **{f"sequence_{k}": v for k, v in self.parameters.items() if np.ndim(v) == 2},
            exc_counts=[len(s) for s in self.exc_spikes],
            exc_times=np.concatenate(self.exc_spikes) if self.size else [],
            inh_counts=[len(s) for s in self.inh_spikes],
            inh_times=np.concatenate(self.inh_spikes) if self.size else [],
            **{f"initial_{k}": v for k, v in self.initial.items()})

    @classmethod
    def load(cls, path):
        d = np.load(path, allow_pickle=False)

        def split(counts, times):
            return np.split(times, np.cumsum(counts)[:-1])

        parameters = dict(zip([str(n) for n in d["param_names"]], d["param_values"]))
        parameters.update({k[len("sequence_"):]: d[k] for k in d.files
                           if k.startswith("sequence_")})
        return cls(
            celltype=str(d["celltype"]), duration=float(d["duration"]), dt=float(d["dt"]),
            parameters=parameters,
            v_init=d["v_init"], exc_spikes=split(d["exc_counts"], d["exc_times"]),
            inh_spikes=split(d["inh_counts"], d["inh_times"]),
            exc_weight=d["exc_weight"], inh_weight=d["inh_weight"],
            delay=float(d["delay"]), seed=int(d["seed"]),
            initial={k[len("initial_"):]: d[k] for k in d.files if k.startswith("initial_")})


def _log_uniform(rng, low, high, size=None):
    return np.exp(rng.uniform(np.log(low), np.log(high), size))


def modulated_poisson(rng, mean_rate, duration, dt, mean_segment=150.0, spread=2.0):
    """Poisson spike times (ms, on the dt grid) with a piecewise-constant rate.

    Each segment's rate is ``mean_rate`` times a log-uniform factor in
    [1/spread, spread] (or zero with probability 0.1, to include silent periods).
    """
    times = []
    t = 0.0
    while t < duration:
        seg = min(rng.exponential(mean_segment), duration - t)
        factor = 0.0 if rng.random() < 0.1 else _log_uniform(rng, 1 / spread, spread)
        rate = mean_rate * factor  # Hz
        n = rng.poisson(rate * seg / 1000.0)
        times.append(t + rng.uniform(0, seg, n))
        t += seg
    times = np.sort(np.concatenate(times)) if times else np.array([])
    steps = np.unique(np.round(times / dt).astype(np.int64))
    steps = steps[(steps >= 1) & (steps * dt < duration)]
    return steps * dt


def random_protocol(celltype_spec, size, duration, dt=0.1, seed=0, regime="standard",
                    training=False):
    """Draw ``size`` random cells and inputs within ``celltype_spec``'s domain.

    ``celltype_spec`` provides ``sample_parameters(rng, size, training)``,
    ``v_init_range`` and ``input_regimes[regime]`` (ranges of mean conductances and
    weights of the drive). ``training`` selects the training distribution where a
    spec's differs from its (wider) validation distribution.
    """
    rng = np.random.default_rng(seed)
    params = celltype_spec.sample_parameters(rng, size, training=training)
    if hasattr(celltype_spec, "sample_inputs"):  # drive relative to each cell's scales
        v_init = celltype_spec.sample_v_init(rng, params, size)
        g_e, g_i, w_e, w_i = celltype_spec.sample_inputs(rng, params, size, regime)
        rate_e = g_e / (w_e * celltype_spec.kernel_integral(params, "excitatory")) * 1000.0
        rate_i = g_i / (w_i * celltype_spec.kernel_integral(params, "inhibitory")) * 1000.0
        rate_e, rate_i = np.minimum(rate_e, 40000.0), np.minimum(rate_i, 40000.0)
    else:
        lo, hi = celltype_spec.v_init_range
        v_init = rng.uniform(lo, hi, size)
        r = celltype_spec.input_regimes[regime]
        g_e = _log_uniform(rng, *r["mean_g_exc"], size)  # uS, time-averaged conductance
        g_i = _log_uniform(rng, *r["mean_g_inh"], size)
        w_e = _log_uniform(rng, *r["w_exc"], size)
        w_i = _log_uniform(rng, *r["w_inh"], size)
        rate_e = np.minimum(g_e / (w_e * params["tau_syn_E"]) * 1000.0, r["max_rate"])
        rate_i = np.minimum(g_i / (w_i * params["tau_syn_I"]) * 1000.0, r["max_rate"])
        if "i_offset" in r:  # a regime of its own injected currents: training data
            low, high = r["i_offset"]  # reach beyond the domain, validation stays in it
            if not training:
                high = min(high, celltype_spec.ranges["i_offset"][1])
            params["i_offset"] = rng.uniform(low, high, size)
        for name, (low, high) in r.get("channels", {}).items():  # per-cell channels
            if low > 0:
                params[name] = _log_uniform(rng, low, high, size)
            else:
                params[name] = rng.uniform(low, high, size)
    exc = [modulated_poisson(rng, rate_e[k], duration, dt) for k in range(size)]
    inh = [modulated_poisson(rng, rate_i[k], duration, dt) for k in range(size)]
    initial = {}
    if hasattr(celltype_spec, "sample_initial"):  # state variables besides v
        initial = celltype_spec.sample_initial(rng, params, v_init, size)
    return Protocol(celltype=celltype_spec.name, duration=duration, dt=dt,
                    parameters=params, v_init=v_init, exc_spikes=exc, inh_spikes=inh,
                    exc_weight=w_e, inh_weight=w_i, seed=seed, meta={"regime": regime},
                    initial=initial)
