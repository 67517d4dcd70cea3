"""Are the cells accurate *inside* the network? Replay a reference network open-loop.

The VAbenchmarks networks (COBA: IF_cond_exp, CUBA: IF_curr_exp; PyNN's
``examples/VAbenchmarks.py``: 4000 cells, 2 % connectivity, delay 0.2 ms) are chaotic:
a perturbation of 1 µV in the initial Vm decorrelates two NEURON runs within 100 ms,
so their spikes can only be compared as statistics. This module takes chaos out of the
comparison:

1. ``closed``: the whole network runs once on pyNN.neuron (fixed step, ``--closed-dt``,
   0.01 ms by default). Every cell's spikes, the connections and the initial Vm are kept.
2. ``replay``: ``--targets`` of its cells (the first E and I cells, in the proportion
   4:1) are rebuilt alone and fed the recorded spikes of every cell that projects to
   them, through the same connections (``SpikeSourceArray`` + ``FromListConnector``).
   Each target then sees exactly the input it saw in the network, and its own output
   can be compared spike by spike.

The replay runs on pyNN.neuron CVODE (the converged reference, threshold crossings
interpolated as in ``pynn-ann validate``), pyNN.ann at dt 0.1 ms, pyNN.neuron at dt
0.1 ms (the anchor) and pyNN.neuron at ``--closed-dt`` (whose spikes should equal the
closed network's: the check that the replay is faithful). Metrics against the CVODE
replay: Γ (Δ 2 ms), precision / recall, rate error, Vm RMSE with spikes masked.

    python benchmarks/network_replay.py --network COBA --output docs/benchmarks/network_replay/COBA

Results: ``replay.md``, ``replay.json`` and ``replay.png`` in ``--output``;
the runs themselves are kept in ``--work`` (reused when present).

``--statistics-seeds N`` measures instead how far chaos alone moves the network
statistics: per seed, the closed network on NEURON (the reference), on NEURON again
with each initial Vm moved by N(0, ``--perturb`` mV) (the same network), on NEURON
with the seeds shifted (the issue's baseline), and on pyNN.ann (the same network);
KL(run ‖ reference) of per-cell rate, CV ISI and correlation for each
(``statistics.md``, ``statistics.json``).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

# PyNN's examples/VAbenchmarks.py, derived values: cm 0.2 nF (20000 um2 at 1 uF/cm2),
# tau_m 20 ms; COBA weights in uS, CUBA weights in nA (Gexc (E_exc - v_mean) etc.)
N_CELLS, N_EXC, P_CONN, DELAY, DURATION = 4000, 3200, 0.02, 0.2, 1000.0
CELL = {"tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "v_reset": -60.0,
        "v_thresh": -50.0, "cm": 0.2, "tau_refrac": 5.0}
NETWORKS = {
    "COBA": {"celltype": "IF_cond_exp", "params": dict(CELL, v_rest=-60.0, e_rev_E=0.0,
                                                       e_rev_I=-80.0),
             "w_exc": 0.004, "w_inh": 0.051, "stimulus": True},
    "CUBA": {"celltype": "IF_curr_exp", "params": dict(CELL, v_rest=-49.0),
             "w_exc": 1e-3 * 0.27 * 60.0, "w_inh": 1e-3 * 4.5 * -20.0, "stimulus": False},
}
# COBA's kick: 20 Poisson sources at 100 Hz for the first 50 ms, 1 % connectivity, 0.1 uS
N_STIM, STIM_RATE, STIM_DUR, STIM_P, STIM_W = 20, 100.0, 50.0, 0.01, 0.1

SIMULATORS = ("neuron-cvode", "ann-dt0.1", "neuron-dt0.1", "neuron-closed")
# the children import pyNN_ann from where this process did
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _import(backend):
    if backend == "ann":
        import pyNN.ann as sim
        return sim
    from pyNN_ann.reference_simulators import import_neuron
    return import_neuron()


def _setup(backend, dt, cvode=False):
    sim = _import(backend)
    if cvode:
        from pyNN_ann.reference_simulators import interpolate_threshold_crossings
        from pyNN_ann.surrogates.training.reference import CONVERGED_NEURON
        sim.setup(timestep=dt, min_delay=DELAY, **CONVERGED_NEURON)
        interpolate_threshold_crossings(sim)
    else:
        sim.setup(timestep=dt, min_delay=DELAY,
                  **({"use_cvode": False} if backend == "neuron" else {}))
    return sim


def _trains(population):
    seg = population.get_data("spikes").segments[0]
    return [np.asarray(st.rescale("ms").magnitude) for st in seg.spiketrains]


def _flat(trains):
    return np.array([len(t) for t in trains]), (np.concatenate(trains) if trains else
                                                 np.zeros(0))


def _unflat(counts, times):
    return np.split(np.asarray(times), np.cumsum(counts)[:-1])


def _parse_label(label, dt_closed=None):
    """'ann-dt0.1' -> ('ann', 0.1, False); 'neuron-cvode' -> ('neuron', 0.1, True);
    'neuron-closed' -> ('neuron', dt_closed, False)."""
    backend, _, step = label.partition("-")
    if step == "cvode":
        return backend, 0.1, True
    if step == "closed":
        return backend, dt_closed, False
    return backend, float(step[2:]), False


def _network_projections(sim, net, cells, seed, like):
    """The recurrent and (COBA) stimulus projections: drawn from ``seed`` as the
    script draws them, or rebuilt from a saved run ``like``. Returns (projections with
    the index offset of their sources, stimulus trains, v0)."""
    from pyNN.parameters import Sequence
    from pyNN.random import NumpyRNG, RandomDistribution
    exc, inh = cells[:N_EXC], cells[N_EXC:]
    if like is None:
        rng = NumpyRNG(seed=seed, parallel_safe=True)
        v0 = RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng).next(N_CELLS)
        stim_times = [np.zeros(0)] * N_STIM
        if net["stimulus"]:  # drawn here so that every replay gets the same kick
            stim_rng = np.random.default_rng(seed + 1)
            stim_times = [np.sort(stim_rng.uniform(0, STIM_DUR, stim_rng.poisson(
                STIM_RATE * STIM_DUR / 1000.0))).round(1) + 0.1 for _ in range(N_STIM)]
        conn = sim.FixedProbabilityConnector(P_CONN, rng=rng)
        connectors = [conn, conn, sim.FixedProbabilityConnector(STIM_P, rng=rng)]
    else:
        v0, stim_times = like["v0"], _unflat(like["stim_counts"], like["stim_times"])
        c = like["connections"]
        parts = [c[(c[:, 3] == 0) & (c[:, 0] < N_EXC)], c[c[:, 3] == 1],
                 c[c[:, 0] >= N_CELLS]]
        connectors = [sim.FromListConnector(
            [(int(a) - off, int(b), w, DELAY) for a, b, w in part[:, :3]],
            column_names=["weight", "delay"])
            for part, off in zip(parts, (0, N_EXC, N_CELLS))]
    if like is None:
        syn = [sim.StaticSynapse(weight=w, delay=DELAY)
               for w in (net["w_exc"], net["w_inh"], STIM_W)]
    else:  # the weights and delays come with the connection lists
        syn = [sim.StaticSynapse()] * 3
    projections = [(sim.Projection(exc, cells, connectors[0], syn[0],
                                   receptor_type="excitatory"), 0),
                   (sim.Projection(inh, cells, connectors[1], syn[1],
                                   receptor_type="inhibitory"), N_EXC)]
    if net["stimulus"]:
        stim = sim.Population(N_STIM, sim.SpikeSourceArray(
            spike_times=[Sequence(t) for t in stim_times]))
        projections.append((sim.Projection(stim, cells, connectors[2], syn[2],
                                           receptor_type="excitatory"), N_CELLS))
    return projections, stim_times, v0


def run_closed(network, seed, label, path, duration=DURATION, like=None, perturb=0.0):
    """The whole network on ``label`` (e.g. 'neuron-dt0.01', 'ann-dt0.1'); saves every
    cell's spikes, the connections and the initial Vm to ``path``.

    ``like``: the saved run whose connections, initial Vm and stimulus to reuse (the
    same network); ``perturb``: SD (mV) of a random offset added to each initial Vm."""
    net = NETWORKS[network]
    backend, dt, cvode = _parse_label(label)
    sim = _setup(backend, dt, cvode)
    cells = sim.Population(N_CELLS, getattr(sim, net["celltype"])(**net["params"]),
                           label="cells")
    projections, stim_times, v0 = _network_projections(
        sim, net, cells, seed, None if like is None else np.load(like))
    if perturb:
        v0 = v0 + perturb * np.random.default_rng(seed + 2).standard_normal(N_CELLS)
    cells.initialize(v=v0)
    cells.record("spikes")
    t0 = time.perf_counter()
    sim.run(duration)
    wall = time.perf_counter() - t0
    rows = []
    for prj, offset in projections:
        c = np.array(prj.get(["weight"], format="list", with_address=True), float)
        rows.append(np.column_stack([c[:, 0] + offset, c[:, 1], c[:, 2],
                                     np.full(len(c), 0.0 if offset != N_EXC else 1.0)]))
    counts, times = _flat(_trains(cells))
    scounts, stimes = _flat(stim_times)
    np.savez_compressed(path, counts=counts, times=times, stim_counts=scounts,
                        stim_times=stimes, connections=np.concatenate(rows), v0=v0,
                        wall=wall)
    sim.end()


def targets_of(n_targets):
    """The replayed cells: the first E and I cells, 4:1."""
    n_exc = int(round(n_targets * N_EXC / N_CELLS))
    return np.concatenate([np.arange(n_exc), N_EXC + np.arange(n_targets - n_exc)])


def run_replay(network, closed_path, label, n_targets, dt_closed, path, duration=DURATION):
    """``n_targets`` cells alone, fed the closed network's recorded spikes."""
    from pyNN.parameters import Sequence
    net, data = NETWORKS[network], np.load(closed_path)
    backend, dt, cvode = _parse_label(label, dt_closed)
    sim = _setup(backend, dt, cvode)
    targets = targets_of(n_targets)
    index = np.full(N_CELLS, -1)
    index[targets] = np.arange(len(targets))
    trains = _unflat(data["counts"], data["times"]) + _unflat(data["stim_counts"],
                                                              data["stim_times"])
    sources = sim.Population(len(trains), sim.SpikeSourceArray(
        spike_times=[Sequence(t) for t in trains]), label="recorded")
    cells = sim.Population(len(targets), getattr(sim, net["celltype"])(**net["params"]),
                           label="targets")
    cells.initialize(v=data["v0"][targets])
    c = data["connections"]
    c = c[index[c[:, 1].astype(int)] >= 0]
    for inhibitory, receptor in ((0.0, "excitatory"), (1.0, "inhibitory")):
        sel = c[c[:, 3] == inhibitory]
        conns = [(int(a), int(index[int(b)]), w, DELAY) for a, b, w in sel[:, :3]]
        sim.Projection(sources, cells, sim.FromListConnector(conns, column_names=["weight",
                                                                                  "delay"]),
                       sim.StaticSynapse(), receptor_type=receptor)
    cells.record("spikes")
    if cvode:  # v at the grid times from CVODE's own interpolant (as the training data)
        from neuron import h
        vectors = [h.Vector() for _ in cells]
        for vec, cell in zip(vectors, cells):
            vec.record(cell._cell.source_section(0.5)._ref_v, 0.1)
    else:
        cells.record("v")
    t0 = time.perf_counter()
    sim.run(duration)
    wall = time.perf_counter() - t0
    seg = cells.get_data().segments[0]
    n_samples = int(round(duration / 0.1)) + 1
    if cvode:
        v = np.array([np.asarray(vec)[:n_samples] for vec in vectors])
    else:  # onto the 0.1-ms grid of the other runs
        v = np.asarray(seg.filter(name="v")[0].magnitude).T[:, ::int(round(0.1 / dt))]
    counts, times = _flat([np.asarray(st.rescale("ms").magnitude) for st in seg.spiketrains])
    np.savez_compressed(path, counts=counts, times=times, v=v.astype(np.float32), wall=wall)
    sim.end()


def _child(argv, log):
    """One stage in its own process (one simulator per process); its output -> ``log``
    (CVODE repeats a warning about steps below round-off many times)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [_PACKAGE_ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    with open(log, "w") as f:
        done = subprocess.run([sys.executable, "-m", __name__] + argv, stdout=f,
                              stderr=subprocess.STDOUT, env=env)
    if done.returncode:
        with open(log) as f:
            sys.exit(f"stage {argv[-1]} failed:\n" + f.read()[-3000:])


def compare_runs(work, n_targets, labels, duration=DURATION):
    """Metrics of every replay (and of the closed run's own spikes) against the CVODE
    replay, per population: {"label|E": aggregate metrics, ...}, and the runs."""
    from pyNN_ann.validation.metrics import compare
    closed = np.load(os.path.join(work, "closed.npz"))
    targets = targets_of(n_targets)
    n_exc = int(np.sum(targets < N_EXC))
    closed_trains = _unflat(closed["counts"], closed["times"])
    runs = {}
    for label in labels:
        d = np.load(os.path.join(work, f"replay_{label}.npz"))
        runs[label] = {"spikes": _unflat(d["counts"], d["times"]), "v": d["v"],
                       "wall": float(d["wall"])}
    runs["closed network"] = {"spikes": [closed_trains[i] for i in targets], "v": None}
    ref = runs["neuron-cvode"]
    n_samples = min(r["v"].shape[1] for r in runs.values() if r["v"] is not None)
    for r in runs.values():  # CVODE's grid recording ends one sample early
        if r["v"] is not None:
            r["v"] = r["v"][:, :n_samples]
    results = {}
    for label, run in runs.items():
        if label == "neuron-cvode":
            continue
        for pop, sl in (("E", slice(0, n_exc)), ("I", slice(n_exc, None))):
            r = {"spikes": ref["spikes"][sl], "v": ref["v"][sl]}
            t = {"spikes": run["spikes"][sl],
                 "v": None if run["v"] is None else run["v"][sl]}
            m = compare(r, t, 0.1, duration)
            results[f"{label}|{pop}"] = dict(m["aggregate"], wall_s=run.get("wall"))
            results[f"{label}|{pop}"]["gamma_per_cell"] = m["per_cell"]["gamma"].tolist()
    return results, runs


def write_report(network, results, runs, output, command, n_targets, duration=DURATION):
    """``replay.md`` (the table), ``replay.json`` and ``replay.png`` in ``output``."""
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "replay.json"), "w") as f:
        json.dump(results, f, indent=1)
    lines = [f"# {network}: cells replayed with the network's own input", "",
             f"Command: `{command}`", "",
             f"{n_targets} target cells (E and I 4:1), {duration:g} ms, fed the recorded "
             "spikes of a "
             f"closed {network} network (pyNN.neuron, fixed step); metrics against the "
             "same replay on pyNN.neuron CVODE (rtol = atol = 1e-6, crossings "
             "interpolated). 'closed network': the targets' own spikes in the closed "
             "run (the replay's faithfulness). Spike shift: matched spikes, run − CVODE.",
             "",
             "| run | pop | Γ | mean Γ per cell | precision / recall | rate ref / run (Hz) "
             "| rate error | spike shift mean ± sd (ms) | Vm RMSE (mV) | replay wall (s) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, m in results.items():
        label, pop = key.split("|")
        vm = m.get("vm_rmse_mv")
        wall = m.get("wall_s")
        lines.append(
            f"| {label} | {pop} | {m['gamma']:.3f} | {m['gamma_mean']:.3f} | "
            f"{m['precision']:.3f} / {m['recall']:.3f} | {m['rate_ref_hz']:.2f} / "
            f"{m['rate_test_hz']:.2f} | {m['rate_error_pct']:+.1f} % | "
            f"{m['timing_shift_ms']:+.3f} ± {m['timing_shift_sd_ms']:.3f} | "
            f"{'' if vm is None else f'{vm:.3f}'} | {'' if wall is None else f'{wall:.1f}'} |")
    with open(os.path.join(output, "replay.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    _plot(runs, os.path.join(output, "replay.png"), network)
    print("\n".join(lines))


def _plot(runs, path, network):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax_v, ax_r) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    t = np.arange(runs["neuron-cvode"]["v"].shape[1]) * 0.1
    for label, style in (("neuron-cvode", "k-"), ("ann-dt0.1", "r--"),
                         ("neuron-dt0.1", "b:")):
        if label in runs:
            ax_v.plot(t, runs[label]["v"][0], style, lw=0.8, label=label)
    ax_v.set_ylabel("Vm, target cell 0 (mV)")
    ax_v.legend(loc="upper right", fontsize=8)
    for row, (label, color) in enumerate((("neuron-cvode", "k"), ("ann-dt0.1", "r"),
                                          ("neuron-dt0.1", "b"))):
        if label not in runs:
            continue
        for cell, train in enumerate(runs[label]["spikes"][:40]):
            ax_r.plot(train, np.full(len(train), cell + row / 3.0), "|", color=color,
                      ms=3)
    ax_r.set_xlabel("time (ms)")
    ax_r.set_ylabel("target cell\n(black CVODE, red ann,\nblue NEURON dt 0.1)")
    ax_r.set_xlim(0, 300)
    fig.suptitle(f"{network}: replayed targets")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


STATISTICS = ("rate", "cv", "correlation")


def _closed_runs(args, work, seed):
    """The four closed runs of one seed: NEURON (the reference), NEURON on the same
    network with initial Vm perturbed, NEURON with the seed shifted (the criterion's
    baseline), and pyNN.ann on the same network. Returns {name: npz path}."""
    ref_label = f"neuron-dt{args.closed_dt:g}"
    os.makedirs(work, exist_ok=True)
    paths = {name: os.path.join(work, f"{name}.npz")
             for name in ("reference", "perturbed", "reseeded", "ann")}
    plan = [("reference", ref_label, seed, []),
            ("perturbed", ref_label, seed, ["--like", paths["reference"], "--perturb",
                                            str(args.perturb)]),
            ("reseeded", ref_label, seed + args.reseed, []),
            ("ann", "ann-dt0.1", seed, ["--like", paths["reference"]])]
    for name, label, s, extra in plan:
        if not os.path.exists(paths[name]):
            print(f"  {name}: {label} ...")
            _child(["--network", args.network, "--seed", str(s), "--duration",
                    str(args.duration), "--stage", "closed", "--label", label, "--path",
                    paths[name]] + extra, paths[name][:-4] + ".log")
    return paths


def network_statistics(args, work):
    """Per seed and population: KL(run ‖ reference) of rate, CV ISI and correlation for
    pyNN.ann, the perturbed NEURON run and the reseeded NEURON run."""
    from .metrics import kl_divergence, population_statistics
    rows = []
    for k in range(args.statistics_seeds):
        seed = args.seed + 1000 * k
        print(f"seed {seed}:")
        paths = _closed_runs(args, os.path.join(work, f"seed{k}"), seed)
        runs = {name: _unflat(*(np.load(p)[key] for key in ("counts", "times")))
                for name, p in paths.items()}
        for pop, sl in (("E", slice(0, N_EXC)), ("I", slice(N_EXC, N_CELLS))):
            stats = {name: population_statistics(trains[sl], args.duration)
                     for name, trains in runs.items()}
            row = {"seed": seed, "population": pop,
                   "mean_rate": {name: float(np.mean(st["rate"])) for name, st in stats.items()}}
            for key in STATISTICS:
                row[key] = {name: kl_divergence(stats[name][key], stats["reference"][key])
                            for name in ("ann", "perturbed", "reseeded")}
            rows.append(row)
    return rows


def _fell_silent(mean_rates):
    """Whether one run's activity died out where another's did not."""
    rates = np.array(list(mean_rates.values()))
    return rates.min() < 0.2 * rates.max()


def write_statistics_report(network, rows, output, command, perturb):
    """``statistics.md`` / ``.json``: the KLs per seed and their means."""
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "statistics.json"), "w") as f:
        json.dump(rows, f, indent=1)
    lines = [f"# {network}: network statistics against chaos", "", f"Command: `{command}`",
             "", "KL(run ‖ NEURON reference) of per-cell rate, CV ISI and pairwise "
             "correlation (2 ms bins), for pyNN.ann on the same network, NEURON on the "
             f"same network with each initial Vm moved by N(0, {perturb:g} mV) "
             "('perturbed': chaos alone), and NEURON with every seed shifted "
             "('reseeded': the issue's baseline).", "",
             "| seed | pop | rate ref / ann / perturbed (Hz) | statistic | ann | perturbed "
             "| reseeded |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        rate = " / ".join(f"{r['mean_rate'][n]:.2f}" for n in ("reference", "ann", "perturbed"))
        for key in STATISTICS:
            lines.append(f"| {r['seed']} | {r['population']} | {rate} | {key} | "
                         + " | ".join(f"{r[key][n]:.3f}" for n in
                                      ("ann", "perturbed", "reseeded")) + " |")
    silent = sorted({r["seed"] for r in rows if _fell_silent(r["mean_rate"])})
    active = [r for r in rows if r["seed"] not in silent]
    n_seeds = len({r["seed"] for r in active})
    if silent:
        lines += ["", "Fell silent (a run's mean rate below a fifth of another's): seeds "
                  + ", ".join(str(seed) for seed in silent) + "; left out of the means."]
    lines += ["", f"Means over the {n_seeds} other seeds; ann − perturbed: the paired "
              "difference, mean ± standard error over seeds; counts: seeds where ann's KL "
              "is at most the other's.", "",
              "| pop | statistic | ann | perturbed | reseeded | ann − perturbed | "
              "ann ≤ perturbed | ann ≤ reseeded |", "|---|---|---|---|---|---|---|---|"]
    for pop in ("E", "I"):
        sub = [r for r in active if r["population"] == pop]
        for key in STATISTICS:
            kl = {n: np.array([r[key][n] for r in sub]) for n in
                  ("ann", "perturbed", "reseeded")}
            diff = kl["ann"] - kl["perturbed"]
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            lines.append(f"| {pop} | {key} | " + " | ".join(
                f"{kl[n].mean():.3f}" for n in ("ann", "perturbed", "reseeded"))
                + f" | {diff.mean():+.3f} ± {se:.3f}"
                + f" | {np.sum(kl['ann'] <= kl['perturbed'])} of {len(sub)}"
                + f" | {np.sum(kl['ann'] <= kl['reseeded'])} of {len(sub)} |")
    with open(os.path.join(output, "statistics.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None, prog=None):
    parser = argparse.ArgumentParser(prog=prog or "python -m pyNN_ann.validation.network_replay",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", choices=sorted(NETWORKS), default="COBA")
    parser.add_argument("--seed", type=int, default=98765, help="VAbenchmarks' rngseed")
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--closed-dt", type=float, default=0.01, help="ms")
    parser.add_argument("--duration", type=float, default=DURATION, help="ms")
    parser.add_argument("--simulators", default=",".join(SIMULATORS))
    parser.add_argument("--statistics-seeds", type=int, default=0,
                        help="instead of the replay: the network statistics of N seeds, "
                             "pyNN.ann against chaos (a perturbed NEURON run) and against "
                             "another seed")
    parser.add_argument("--perturb", type=float, default=1e-3,
                        help="SD of the initial-Vm perturbation (mV)")
    parser.add_argument("--reseed", type=int, default=500, help="seed shift of the baseline")
    parser.add_argument("--work", default=None, help="folder for the runs (reused)")
    parser.add_argument("--output", default="network_replay")
    parser.add_argument("--stage", choices=("closed", "replay"), help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--like", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = args.work or os.path.join(args.output, "runs")
    os.makedirs(work, exist_ok=True)
    closed = os.path.join(work, "closed.npz")
    if args.stage == "closed":
        return run_closed(args.network, args.seed,
                          args.label or f"neuron-dt{args.closed_dt:g}", args.path or closed,
                          args.duration, like=args.like,
                          perturb=args.perturb if args.like else 0.0)
    if args.stage == "replay":
        return run_replay(args.network, closed, args.label, args.targets, args.closed_dt,
                          os.path.join(work, f"replay_{args.label}.npz"), args.duration)
    command = " ".join([parser.prog] + list(argv if argv is not None else sys.argv[1:]))
    if args.statistics_seeds:
        rows = network_statistics(args, work)
        write_statistics_report(args.network, rows, args.output, command, args.perturb)
        return rows
    common = ["--network", args.network, "--seed", str(args.seed), "--targets",
              str(args.targets), "--closed-dt", str(args.closed_dt), "--duration",
              str(args.duration), "--work", work]
    if not os.path.exists(closed):
        print(f"closed {args.network} network on pyNN.neuron dt {args.closed_dt} ...")
        _child(common + ["--stage", "closed"], os.path.join(work, "closed.log"))
    labels = args.simulators.split(",")
    for label in labels:
        if not os.path.exists(os.path.join(work, f"replay_{label}.npz")):
            print(f"replay on {label} ...")
            _child(common + ["--stage", "replay", "--label", label],
                   os.path.join(work, f"replay_{label}.log"))
    results, runs = compare_runs(work, args.targets, labels, args.duration)
    write_report(args.network, results, runs, args.output, command, args.targets,
                 args.duration)
    return results


if __name__ == "__main__":
    main()
