#!/usr/bin/env python
"""Where pyNN.ann's run time goes, per simulation step.

    python benchmarks/profile_step.py                       # COBAHH, N = 4000
    python benchmarks/profile_step.py --network coba --sizes 4000,16000
    KERAS_BACKEND=jax python benchmarks/profile_step.py      # the same on JAX

The benchmark network (``--network``, as in ``benchmarks/hh_network.py``) is built
five times, each time with one more part, each in a fresh process:

1. ``cells``: the cells alone (no input, nothing recorded): the surrogate update and
   the exact cell rules;
2. ``+ drive``: one Poisson source per cell, one-to-one: random numbers, source spikes
   and their transmission;
3. ``+ recurrent``: the 80/20 E/I recurrent synapses (p = 0.02);
4. ``+ spikes``: spikes of every cell recorded;
5. ``+ v``: the membrane potential of every cell recorded at every step.

Each configuration runs ``--duration`` ms twice; the first run compiles, the second
is timed. The differences between consecutive rows are the costs of the parts. The
engine's own clock (``Engine.timings``) splits each timed run into the compiled loop
(including reading its results back to the host) and the host's work between chunks
(injected currents, array-source spikes, storing the state).
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = ["cells", "+ drive", "+ recurrent", "+ spikes", "+ v"]


def child(network, n, stage, duration, seed):
    """One configuration in this process: ms per step of the timed run, and its parts."""
    sys.path.insert(0, ROOT)
    import keras

    import pyNN_ann as sim
    from pyNN.random import NumpyRNG
    from pyNN_ann.validation import benchmark_networks as networks

    level = STAGES.index(stage)
    net = networks.NETWORKS[network]
    args = dict(net.defaults, recurrent=level >= 2)
    if level < 1:
        args["input_rate"] = 0.0
    sim.setup(timestep=0.1, min_delay=args["delay"], rng_seed=seed, progress=False)
    cells, n_syn = networks.build(sim, network, n, args, NumpyRNG(seed=seed))
    if level >= 3:
        cells.record("spikes")
    if level >= 4:
        cells.record("v")
    sim.run(duration)  # compiles
    engine = sim.simulator.state.engine
    before = dict(engine.timings)
    t0 = time.perf_counter()
    sim.run(duration)
    wall = time.perf_counter() - t0
    steps = duration / 0.1
    parts = {k: (engine.timings[k] - before[k]) / steps * 1e3 for k in engine.timings}
    rate = sum(cells.get_spike_counts().values()) / n / (2 * duration) * 1e3 \
        if level >= 3 else None
    return {"network": network, "n": n, "stage": stage, "synapses": n_syn,
            "ms_per_step": wall / steps * 1e3, "parts_ms_per_step": parts,
            "rate_hz": rate, "backend": keras.backend.backend()}


def main(argv=None):
    p = argparse.ArgumentParser(prog="benchmarks/profile_step.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--network", default="cobahh", choices=["cobahh", "coba"])
    p.add_argument("--sizes", default="4000", help="N, comma-separated")
    p.add_argument("--duration", type=float, default=200.0, help="ms per (timed) run")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        n, stage = a.child.split(":", 1)
        print(json.dumps(child(a.network, int(n), stage, a.duration, a.seed)))
        return None
    results = []
    for n in [int(s) for s in a.sizes.split(",")]:
        previous = None
        for stage in STAGES:
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--network", a.network,
                 "--duration", str(a.duration), "--seed", str(a.seed),
                 "--child", f"{n}:{stage}"], capture_output=True, text=True, check=False)
            if out.returncode != 0:
                sys.exit(f"{stage} at N = {n} failed:\n{out.stderr[-2000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r["part_ms"] = r["ms_per_step"] - (previous or 0.0)
            previous = r["ms_per_step"]
            results.append(r)
            print(f"{a.network} N={n} ({r['backend']}) {stage:12s} {r['ms_per_step']:8.2f} "
                  f"ms/step (this part {r['part_ms']:+.2f}; loop "
                  f"{r['parts_ms_per_step']['loop']:.2f}, host "
                  f"{r['parts_ms_per_step']['host']:.2f})", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} "
          f"({os.cpu_count()} CPUs)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
