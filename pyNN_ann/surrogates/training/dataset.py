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
    spec_name, size, duration, dt, seed = args
    protocol = random_protocol(SPECS[spec_name], size, duration, dt=dt, seed=seed)
    result = run_in_subprocess(protocol)
    return protocol, result


def generate(spec_name, n_cells, duration, dt=0.1, seed=0, cells_per_job=10, workers=2,
             progress=True):
    """Simulate ``n_cells`` random protocols on the reference; returns a dict of arrays."""
    from tqdm.auto import tqdm
    jobs = [(spec_name, min(cells_per_job, n_cells - start), duration, dt, seed * 100003 + j)
            for j, start in enumerate(range(0, n_cells, cells_per_job))]
    parts = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for part in tqdm(pool.map(_chunk, jobs), total=len(jobs), disable=not progress,
                         desc=f"reference {spec_name}", unit="job"):
            parts.append(part)
    return assemble(parts)


def assemble(parts):
    """Stack (protocol, result) pairs into training arrays."""
    out = {"v": [], "g_exc": [], "g_inh": [], "v_init": [], "spike_counts": [],
           "spike_times": []}
    params = {}
    for protocol, result in parts:
        n_samples = result["v"].shape[1]
        p = protocol.parameters
        out["v"].append(result["v"].astype(np.float32))
        out["g_exc"].append(synaptic_conductance(protocol.exc_spikes, protocol.exc_weight,
                                                 p["tau_syn_E"], protocol.delay, n_samples,
                                                 protocol.dt).astype(np.float32))
        out["g_inh"].append(synaptic_conductance(protocol.inh_spikes, protocol.inh_weight,
                                                 p["tau_syn_I"], protocol.delay, n_samples,
                                                 protocol.dt).astype(np.float32))
        out["v_init"].append(protocol.v_init)
        out["spike_counts"].append([len(s) for s in result["spikes"]])
        out["spike_times"].append(np.concatenate(result["spikes"]))
        for k, v in p.items():
            params.setdefault(k, []).append(v)
    data = {k: np.concatenate(v) for k, v in out.items()}
    data.update({f"param_{k}": np.concatenate(v) for k, v in params.items()})
    data["dt"] = parts[0][0].dt
    return data


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("celltype")
    parser.add_argument("output")
    parser.add_argument("--cells", type=int, default=400)
    parser.add_argument("--duration", type=float, default=2000.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    data = generate(args.celltype, args.cells, args.duration, seed=args.seed,
                    workers=args.workers)
    np.savez_compressed(args.output, **data)


if __name__ == "__main__":
    main()
