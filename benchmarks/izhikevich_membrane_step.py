#!/usr/bin/env python
"""Which membrane step limits the Izhikevich cells? The engine's exact rules (threshold,
crossing time, reset, u; ``izhikevich.spike_and_reset``) around candidate steps below
the peak, in NumPy float64, against the converged reference on held-out protocols:

* ``fine``: the coupled (v, u) system integrated within each step (RK4, 100 substeps);
* ``frozen``: the closed-form flow with u held at its value at the step's start;
* ``flow``: the surrogate's known increment since stop 19 (``flow_increment``: the
  frozen flow plus u's drift to second order);
* ``taylor2``: the older known increment (second-order Taylor step), unit factor;
* ``ann``: pyNN.ann itself (the shipped surrogate, float32).

    python benchmarks/izhikevich_membrane_step.py --output docs/benchmarks/izhikevich_membrane_step

The reference (pyNN.neuron CVODE, as ``pynn-ann validate``) is run, or read from
``--cache``. Results: ``membrane_step.md`` and ``.json`` in ``--output``.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyNN_ann.surrogates import izhikevich as iz  # noqa: E402

STEPS = ("fine", "frozen", "flow", "taylor2")


def membrane_step(kind, v, u, i, a, b, dt):
    """v at the step's end below the peak (values beyond it mean: spike)."""
    if kind == "fine":
        return iz.coupled_flow(v, u, i, a, b, dt, substeps=100)
    if kind == "frozen":
        x, x_end = iz.frozen_flow(v, u, i, dt, np)
        return v + x_end - x
    if kind == "flow":
        return v + iz.flow_increment(v, u, i, a, b, dt)
    if kind == "taylor2":
        f = iz.vector_field(v, u, i)
        return v + f * dt + 0.5 * dt * dt * ((0.08 * v + 5.0) * f - a * (b * v - u))
    raise ValueError(f"unknown membrane step {kind!r} (one of {STEPS})")


def simulate(protocol, kind):
    """The protocol's cells with the engine's rules around membrane step ``kind``."""
    dt, n = protocol.dt, int(round(protocol.duration / protocol.dt))
    p = {k: np.asarray(v, float) for k, v in protocol.parameters.items()}
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    i = iz.current(p["i_offset"])
    jumps = np.zeros((protocol.size, n + 1))
    for cell in range(protocol.size):
        for times, w in ((protocol.exc_spikes[cell], protocol.exc_weight[cell]),
                         (protocol.inh_spikes[cell], protocol.inh_weight[cell])):
            k = np.round((np.asarray(times) + protocol.delay) / dt).astype(int)
            np.add.at(jumps[cell], k[k <= n], w)
    v = np.asarray(protocol.v_init, float).copy()
    u = np.broadcast_to(np.asarray(protocol.initial.get("u", -14.0), float),
                        v.shape).copy()
    trace = np.zeros((protocol.size, n + 1))
    spikes = [[] for _ in range(protocol.size)]
    for k in range(n):
        trace[:, k] = v
        v = v + jumps[:, k]
        v_pred = membrane_step(kind, np.minimum(v, iz.V_PEAK), u, i, a, b, dt)
        v, u, spiked, theta = iz.spike_and_reset(v, v_pred, u, i, a, b, c, d, dt)
        for cell in np.nonzero(spiked)[0]:
            spikes[cell].append((k + theta[cell]) * dt)
    trace[:, n] = v
    return {"v": trace, "spikes": [np.asarray(s) for s in spikes]}


def main(argv=None):
    from pyNN_ann.surrogates.training.protocols import random_protocol
    from pyNN_ann.surrogates.training.specs import SPECS
    from pyNN_ann.validation import metrics
    from pyNN_ann.validation.single_cell import HELD_OUT_SEED, cached_run

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--seeds", default=str(HELD_OUT_SEED), help="comma-separated")
    parser.add_argument("--steps", default=",".join(STEPS + ("ann",)))
    parser.add_argument("--cache", default=None, help="reference cache (as pynn-ann validate)")
    parser.add_argument("--output", default="izhikevich_membrane_step")
    args = parser.parse_args(argv)

    rows = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        protocol = random_protocol(SPECS["Izhikevich"], args.cells, args.duration, dt=0.1,
                                   seed=seed)
        key = f"Izhikevich_seed{seed}_n{args.cells}_T{args.duration:g}_dt0.1"
        reference = cached_run(protocol, "neuron-cvode", 0.1, args.cache, key)
        for kind in args.steps.split(","):
            test = (cached_run(protocol, "ann", 0.1, None, key, chunk=protocol.size,
                               workers=1) if kind == "ann" else simulate(protocol, kind))
            m = metrics.compare(reference, test, 0.1, protocol.duration)["aggregate"]
            rows.setdefault(kind, {})[seed] = {k: m[k] for k in (
                "gamma", "precision", "recall", "vm_rmse_mv", "rate_error_pct")}
            print(f"seed {seed} {kind:>8}: Γ {m['gamma']:.3f}  precision {m['precision']:.3f}"
                  f"  Vm RMSE {m['vm_rmse_mv']:.2f} mV", flush=True)
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "membrane_step.json"), "w") as f:
        json.dump({"cells": args.cells, "duration_ms": args.duration, "results": rows}, f,
                  indent=1)
    seeds = sorted(next(iter(rows.values())))
    lines = ["# Izhikevich: the engine's rules around candidate membrane steps", "",
             f"{args.cells} cells × {args.duration:g} ms per seed, dt 0.1 ms, against "
             "pyNN.neuron CVODE (rtol = atol = 1e-6). Command: `python "
             "benchmarks/izhikevich_membrane_step.py " + " ".join(argv or sys.argv[1:]) + "`",
             "", "| membrane step | " + " | ".join(f"Γ seed {s}" for s in seeds)
             + " | mean Γ | mean precision | mean Vm RMSE |",
             "|---" * (len(seeds) + 4) + "|"]
    for kind, by_seed in rows.items():
        g = [by_seed[s]["gamma"] for s in seeds]
        lines.append(f"| {kind} | " + " | ".join(f"{x:.3f}" for x in g)
                     + f" | {np.mean(g):.3f} | "
                     + f"{np.mean([by_seed[s]['precision'] for s in seeds]):.3f} | "
                     + f"{np.mean([by_seed[s]['vm_rmse_mv'] for s in seeds]):.2f} mV |")
    with open(os.path.join(args.output, "membrane_step.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
