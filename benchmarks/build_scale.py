#!/usr/bin/env python
"""Build-time and memory check of a large network on pyNN.ann.

    python benchmarks/build_scale.py                      # 10^5 cells, 10^7 synapses
    python benchmarks/build_scale.py --cells 10000 --synapses 100000 --connector total

``--cells`` IF_cond_exp cells with the COBA parameters (Brette et al. 2007), 80 % E /
20 % I; ``--synapses`` recurrent synapses split 80/20 into an excitatory projection
(from the E cells, 4 nS) and an inhibitory one (from the I cells, 51 nS), delay 0.2 ms.
Every cell gets ``--i-offset`` so that it fires, and Vm starts uniform in
[v_reset, v_thresh]. Reports the build time (target < 60 s at the defaults), the run
time of ``--duration`` ms, the mean rate (from ``get_spike_counts``; ``--get-data`` also
times ``get_data``) and the peak resident memory (target < 2 GB).

Connectors (``--connector``): ``fixed-pre`` (FixedNumberPreConnector with replacement:
one vectorised draw per post-synaptic cell), ``total`` (FixedTotalNumberConnector)
and ``probability`` (FixedProbabilityConnector, p = synapses / cells^2).
``--profile PATH`` writes a cProfile of the build and prints its top entries.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

COBA_CELL = {"cm": 0.2, "tau_m": 20.0, "v_rest": -60.0, "v_reset": -60.0, "v_thresh": -50.0,
             "tau_refrac": 5.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "e_rev_E": 0.0,
             "e_rev_I": -80.0}


def memory_mb():
    """(current, peak) resident memory of this process in MB (/proc/self/status)."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line[:5]] = int(line.split()[1]) / 1024.0
    return values.get("VmRSS"), values.get("VmHWM")


def connector(sim, kind, n_syn, n_pre, n_post, rng):
    """A connector making about ``n_syn`` synapses from ``n_pre`` onto ``n_post`` cells."""
    if kind == "fixed-pre":
        return sim.FixedNumberPreConnector(int(round(n_syn / n_post)), with_replacement=True,
                                           rng=rng)
    if kind == "total":
        return sim.FixedTotalNumberConnector(int(n_syn), rng=rng)
    if kind == "probability":
        return sim.FixedProbabilityConnector(n_syn / (n_pre * n_post), rng=rng)
    raise ValueError(f"unknown connector {kind!r}")


def build(sim, a):
    """Create the network; returns (cells, number of synapses)."""
    from pyNN.random import NumpyRNG, RandomDistribution
    rng = NumpyRNG(seed=a.seed)
    cells = sim.Population(a.cells, sim.IF_cond_exp(i_offset=a.i_offset, **COBA_CELL))
    cells.initialize(v=RandomDistribution("uniform", (-60.0, -50.0), rng=rng))
    n_exc = int(round(0.8 * a.cells))
    n_syn = 0
    for pre, share, weight, receptor in ((cells[:n_exc], 0.8, 0.004, "excitatory"),
                                         (cells[n_exc:], 0.2, 0.051, "inhibitory")):
        prj = sim.Projection(pre, cells,
                             connector(sim, a.connector, share * a.synapses, pre.size,
                                       cells.size, rng),
                             sim.StaticSynapse(weight=weight, delay=a.delay),
                             receptor_type=receptor)
        n_syn += len(prj)
    return cells, n_syn


def main(argv=None):
    p = argparse.ArgumentParser(prog="benchmarks/build_scale.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", type=int, default=100_000)
    p.add_argument("--synapses", type=float, default=1e7, help="total recurrent synapses")
    p.add_argument("--connector", choices=["fixed-pre", "total", "probability"],
                   default="fixed-pre")
    p.add_argument("--duration", type=float, default=10.0, help="simulated ms")
    p.add_argument("--dt", type=float, default=0.1, help="ms")
    p.add_argument("--delay", type=float, default=0.2, help="ms")
    p.add_argument("--i-offset", type=float, default=0.2, help="nA, every cell")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--profile", metavar="PATH", help="cProfile the build into PATH")
    p.add_argument("--get-data", action="store_true",
                   help="also time get_data('spikes') (slow for many cells)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    a = p.parse_args(argv)

    t0 = time.perf_counter()
    try:
        import pyNN.ann as sim
    except ModuleNotFoundError:
        import pyNN_ann as sim  # import hook not installed
    t_import = time.perf_counter() - t0
    rss_import = memory_mb()[0]

    sim.setup(timestep=a.dt, min_delay=a.delay, rng_seed=a.seed)
    t0 = time.perf_counter()
    if a.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        cells, n_syn = prof.runcall(build, sim, a)
        t_build = time.perf_counter() - t0
        prof.dump_stats(a.profile)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    else:
        cells, n_syn = build(sim, a)
        t_build = time.perf_counter() - t0
    cells.record("spikes")
    rss_build, peak_build = memory_mb()
    print(f"built {a.cells} cells, {n_syn} synapses ({a.connector}) in {t_build:.2f} s; "
          f"RSS {rss_build:.0f} MB (peak {peak_build:.0f} MB)", flush=True)

    t0 = time.perf_counter()
    sim.run(a.duration)
    t_run = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_spikes = sum(cells.get_spike_counts().values())
    t_count = time.perf_counter() - t0
    t_data = None
    if a.get_data:  # PyNN builds the Neo segment in O(N^2) for per-cell spike dicts
        t0 = time.perf_counter()
        cells.get_data("spikes")
        t_data = time.perf_counter() - t0
        print(f"get_data('spikes') took {t_data:.2f} s", flush=True)
    sim.end()
    rss_end, peak = memory_mb()
    res = {"cells": a.cells, "synapses": int(n_syn), "connector": a.connector,
           "import_s": t_import, "build_s": t_build, "run_s": t_run,
           "spike_count_s": t_count, "get_data_s": t_data,
           "duration_ms": a.duration, "dt": a.dt,
           "mean_rate_hz": n_spikes / a.cells / (a.duration / 1000.0),
           "rss_after_import_mb": rss_import, "rss_after_build_mb": rss_build,
           "peak_rss_build_mb": peak_build, "peak_rss_mb": peak,
           "build_target_met": t_build < 60.0, "memory_target_met": peak < 2048.0}
    print(f"run {a.duration:g} ms in {t_run:.2f} s, mean rate {res['mean_rate_hz']:.1f} Hz; "
          f"peak RSS {peak:.0f} MB (after import {rss_import:.0f} MB)")
    print(f"targets: build < 60 s {'met' if res['build_target_met'] else 'NOT met'}, "
          f"peak memory < 2 GB {'met' if res['memory_target_met'] else 'NOT met'}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    main()
