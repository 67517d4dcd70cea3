"""Generate reference training/validation data for a cell type.

Random protocols (``protocols.py``) are simulated on the converged reference
(pyNN.neuron with CVODE) in parallel worker processes; the membrane potential is
stored on the dt grid together with the exact synaptic conductances the pyNN.ann
engine computes from the same input spikes (``synaptic_conductance``).
"""

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy.signal import lfilter

from .protocols import random_protocol
from .reference import run_in_subprocess
from .specs import SPECS


def synaptic_conductance(spike_times, weights, tau, delay, n_samples, dt):
    """Exponential-kernel conductance on the grid, as the engine computes it.

    g[k] = sum over arrivals a <= t_k of w * exp(-(t_k - a) / tau), arrivals at
    spike time + delay (all on the grid). Returns cells x n_samples.
    """
    g = np.zeros((len(spike_times), n_samples))
    decay = np.exp(-dt / np.asarray(tau))
    for i, times in enumerate(spike_times):
        steps = np.round((np.asarray(times) + delay) / dt).astype(np.int64)
        steps = steps[steps < n_samples]
        jumps = np.bincount(steps, minlength=n_samples).astype(float) * weights[i]
        g[i] = lfilter([1.0], [1.0, -decay[i]], jumps)  # g[k] = decay*g[k-1] + jumps[k]
    return g


def _chunk(args):
    spec_name, regime, size, duration, dt, seed = args
    protocol = random_protocol(SPECS[spec_name], size, duration, dt=dt, seed=seed,
                               regime=regime, training=True)
    return protocol, run_in_subprocess(protocol)


def generate(spec_name, n_cells, duration, dt=0.1, seed=0, regime="standard",
             cells_per_job=10, workers=2, progress=True):
    """Simulate ``n_cells`` random protocols on the reference; returns a dataset dict."""
    from tqdm.auto import tqdm
    jobs = [(spec_name, regime, min(cells_per_job, n_cells - start), duration, dt,
             seed * 100003 + j) for j, start in enumerate(range(0, n_cells, cells_per_job))]
    parts = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for part in tqdm(pool.map(_chunk, jobs), total=len(jobs), disable=not progress,
                         desc=f"reference {spec_name} ({regime})", unit="job"):
            parts.append(part)
    return assemble(parts)


def assemble(parts):
    """Stack (protocol, result) pairs into a compact dataset: reference v on the grid,
    input spike trains, weights and parameters (conductances are recomputed on load)."""
    out = {"v": [], "v_init": [], "exc_weight": [], "inh_weight": [], "delay": [],
           "spike_counts": [], "spike_times": [], "exc_counts": [], "exc_times": [],
           "inh_counts": [], "inh_times": []}
    params = {}
    for protocol, result in parts:
        out["v"].append(result["v"].astype(np.float32))
        out["v_init"].append(protocol.v_init)
        out["exc_weight"].append(protocol.exc_weight)
        out["inh_weight"].append(protocol.inh_weight)
        out["delay"].append(np.full(protocol.size, protocol.delay))
        for key, trains in (("spike", result["spikes"]), ("exc", protocol.exc_spikes),
                            ("inh", protocol.inh_spikes)):
            out[f"{key}_counts"].append([len(t) for t in trains])
            out[f"{key}_times"].append(np.concatenate(trains))
        for k, v in protocol.parameters.items():
            params.setdefault(k, []).append(v)
        for k, v in protocol.initial.items():  # other state variables: initial, recorded
            out.setdefault(f"initial_{k}", []).append(v)
            if k in result:
                out.setdefault(k, []).append(result[k].astype(np.float32))
    data = {k: np.concatenate(v) for k, v in out.items()}
    data.update({f"param_{k}": np.concatenate(v) for k, v in params.items()})
    data["dt"] = parts[0][0].dt
    return data


def merge(datasets):
    """Concatenate datasets (same dt and duration)."""
    return {k: (datasets[0][k] if k == "dt" else np.concatenate([d[k] for d in datasets]))
            for k in datasets[0]}


def _split(counts, times):
    return np.split(times, np.cumsum(counts)[:-1])


def with_conductances(data):
    """Add the exact ``g_exc``/``g_inh`` traces (cells x samples) to a dataset."""
    n_samples = data["v"].shape[1]
    dt = float(data["dt"])
    data = dict(data)
    for key, name, tau in (("exc", "g_exc", "param_tau_syn_E"), ("inh", "g_inh", "param_tau_syn_I")):
        if name not in data:
            data[name] = synaptic_conductance(
                _split(data[f"{key}_counts"], data[f"{key}_times"]), data[f"{key}_weight"],
                data[tau], float(data["delay"][0]),
                n_samples, dt).astype(np.float32)
    return data


def load(path):
    """A dataset saved by :func:`main`, with conductances."""
    with np.load(path) as f:
        return with_conductances({k: f[k] for k in f.files})


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("celltype")
    parser.add_argument("output")
    parser.add_argument("--cells", type=int, default=400)
    parser.add_argument("--duration", type=float, default=2000.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--regime", default="standard")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    data = generate(args.celltype, args.cells, args.duration, seed=args.seed,
                    regime=args.regime, workers=args.workers)
    np.savez_compressed(args.output, **data)


if __name__ == "__main__":
    main()
