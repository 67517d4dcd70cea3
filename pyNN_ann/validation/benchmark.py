"""Network benchmark: the same network on several PyNN backends, one fresh process each.

``--network`` picks the network (:mod:`.benchmark_networks`): ``cobahh`` (default), N
``HH_cond_exp`` cells with COBAHH parameters, or ``coba``, N ``IF_cond_exp`` cells with
the COBA parameters (Brette et al. 2007). Each cell is driven by its own
``SpikeSourcePoisson`` (one-to-one), optionally with recurrent 80/20 E/I connections
(p = 0.02); ``--duration`` ms at ``--dt``, recording spikes. For each simulator and N
it reports build time, run time, wall time per simulated second, neuron-steps per
second, ns per neuron-step, peak memory of the child process and the mean rate; then
the ratio of each simulator's run time to pyNN.ann's. A simulator that fails is
reported and skipped. ``--plot PATH`` draws run time against N (log-log).

Simulator options (shown in the report): pyNN.neuron fixed step (``use_cvode=False``),
pyNN.nest one thread; every backend gets ``--seed`` (pyNN.nest and pyNN.ann through
``rng_seed``, pyNN.neuron through ``native_rng_baseseed``).

The child processes run this file as a script (``--child``), so a pyNN.neuron run
does not import pyNN_ann (nor TensorFlow) and its timings and memory are its own.

Network statistics: per-neuron rate, CV ISI and pairwise correlation, each compared
with the reference run of the same seed by KL divergence; ``--reference-repeat`` adds
a reference run with the next seed, whose divergence from the first is the
reference-vs-reference baseline. Recurrent networks are chaotic and one pair of runs
is a noisy judge: ``--seeds K`` runs everything for seeds S .. S + K - 1 (the
reference of seed s + 1 gives seed s's baseline) and adds the per-seed table and the
mean KL of each statistic against the mean baseline.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    from . import benchmark_networks as networks
except ImportError:  # run as a script (child process): leave pyNN_ann unimported
    import benchmark_networks as networks

COBAHH = networks.COBAHH_CELL  # former name


def setup_options(sim_name, seed):
    """The setup() options this benchmark gives each backend (besides timestep, min_delay)."""
    if sim_name == "neuron":
        return {"use_cvode": False, "native_rng_baseseed": seed}
    if sim_name == "nest":
        return {"rng_seed": seed, "threads": 1}
    return {"rng_seed": seed}


def _peak_rss_mb():
    """Peak resident memory of this process (MB).

    VmHWM from /proc (Linux): ``getrusage``'s ru_maxrss carries the parent's peak
    across fork + exec, which would charge pyNN.ann's imports to a NEURON child."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_child(sim_name, n, args):
    """Build and run the network on ``pyNN.<sim_name>`` in this process; returns a dict."""
    import importlib
    t0 = time.perf_counter()
    try:
        sim = importlib.import_module(f"pyNN.{sim_name}")
    except ModuleNotFoundError:
        if sim_name != "ann":
            raise
        sim = importlib.import_module("pyNN_ann")  # import hook not installed
    from pyNN.random import NumpyRNG
    t_import = time.perf_counter() - t0
    options = dict(setup_options(sim_name, args["seed"]), timestep=args["dt"],
                   min_delay=args["delay"])
    # --option may override the step of one simulator (e.g. neuron:timestep=0.01,
    # a finer reference)
    options.update(args.get("options", {}).get(sim_name, {}))

    t0 = time.perf_counter()
    sim.setup(**options)
    cells, n_syn = networks.build(sim, args.get("network", "cobahh"), n, args,
                                  NumpyRNG(seed=args["seed"]))
    cells.record("spikes")
    t_build = time.perf_counter() - t0

    t_warmup = None
    if args.get("warmup"):  # untimed: compilation, initial transient
        t0 = time.perf_counter()
        sim.run(args["warmup"])
        t_warmup = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    sim.run(args["duration"])
    t_run, c_run = time.perf_counter() - t0, time.process_time() - c0

    # spike read-out: get_data only when the trains are wanted; PyNN assembles the Neo
    # segment in O(N^2) for backends that return spikes per cell (neuron, ann), which
    # takes minutes at N >= 20000, while counting is O(N)
    t0 = time.perf_counter()
    if args.get("spikes_out"):
        spikes = cells.get_data("spikes").segments[0].spiketrains
        n_spikes = int(sum(len(st) for st in spikes))
    else:
        n_spikes = int(sum(cells.get_spike_counts().values()))
    t_data = time.perf_counter() - t0
    if args.get("spikes_out"):
        trains = [np.asarray(st.rescale("ms").magnitude) for st in spikes]
        np.savez_compressed(args["spikes_out"], counts=[len(t) for t in trains],
                            times=np.concatenate(trains) if trains else [])
    sim.end()
    steps = n * args["duration"] / args["dt"]
    backend = sys.modules["keras"].backend.backend() if "keras" in sys.modules else None
    return {"simulator": sim_name, "network": args.get("network", "cobahh"), "n": n,
            "keras_backend": backend,
            "setup_options": options, "synapses": int(n_syn), "import_s": t_import,
            "build_s": t_build, "warmup_s": t_warmup, "run_s": t_run, "run_cpu_s": c_run,
            "spike_readout": "get_data" if args.get("spikes_out") else "get_spike_counts",
            "spike_readout_s": t_data,
            "wall_per_sim_s": t_run / (args["duration"] / 1000.0),
            "neuron_steps_per_s": steps / t_run, "ns_per_neuron_step": t_run / steps * 1e9,
            "peak_rss_mb": _peak_rss_mb(),
            "mean_rate_hz": n_spikes / n / ((args.get("warmup") or 0.0) + args["duration"])
            * 1000.0,
            "error": None}


# pyNN.ann on a chosen Keras backend: "ann" runs on the backend of the environment
KERAS_BACKENDS = {"ann-tf": "tensorflow", "ann-jax": "jax"}


def split_label(label):
    """(PyNN backend, Keras backend or None) of a ``--simulators`` entry."""
    if label in KERAS_BACKENDS:
        return "ann", KERAS_BACKENDS[label]
    return label, None


def run_in_subprocess(sim_name, n, args, timeout=None, spikes=False, keras_backend=None):
    """``run_child`` in a fresh Python process; errors are returned, not raised.

    With ``spikes``, the result carries the spike trains under ``"spikes"``;
    ``keras_backend`` sets ``KERAS_BACKEND`` for the child."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        args = dict(args, spikes_out=os.path.join(tmp, "spikes.npz") if spikes else None)
        # run this file as a script: the child imports nothing but PyNN and the backend
        cmd = [sys.executable, os.path.abspath(__file__), "--child", sim_name, "--child-n", str(n),
               "--child-args", json.dumps(args), "--child-out", out]
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        if keras_backend:
            env["KERAS_BACKEND"] = keras_backend
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"simulator": sim_name, "n": n, "error": f"timed out after {timeout} s"}
        if proc.returncode != 0 or not os.path.exists(out):
            tail = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            return {"simulator": sim_name, "n": n, "error": tail[-1] if tail else "failed",
                    "stderr": proc.stderr[-3000:]}
        with open(out) as f:
            res = json.load(f)
        res["process_wall_s"] = time.perf_counter() - t0
        if spikes:
            d = np.load(args["spikes_out"])
            res["spikes"] = np.split(d["times"], np.cumsum(d["counts"])[:-1])
        return res


STATISTICS = ("rate", "cv", "correlation")


def add_statistics(results, duration, reference="neuron"):
    """Rate / CV / correlation distributions and KL divergences to the reference run.

    Each run is compared with the ``reference`` run of the same N and seed; a reference
    run with the reference run of the seed before it (the reference-vs-reference
    baseline; ``reference + "-seed2"`` is the repeat with the next seed). Returns the
    per-seed rows of ``compare.seed_summary``: each tested run of each seed with its
    KLs and the baseline KL(reference(seed + 1) || reference(seed)) where that run
    exists."""
    from pyNN_ann.validation.metrics import kl_divergence, population_statistics
    stats = {}
    for r in results:
        if "spikes" in r:
            stats[id(r)] = population_statistics(r.pop("spikes"), duration)
            st = stats[id(r)]
            r["mean_cv"] = float(np.nanmean(st["cv"])) if np.any(np.isfinite(st["cv"])) else None
            r["mean_corr"] = float(np.mean(st["correlation"])) if len(st["correlation"]) else None

    def reference_run(n, seed):
        return next((q for q in results if q["n"] == n and q.get("seed") == seed
                     and q["simulator"] == reference and id(q) in stats), None)

    def kl(a, b):
        return {k: kl_divergence(stats[id(a)][k], stats[id(b)][k]) for k in STATISTICS}

    for r in results:
        if id(r) not in stats:
            continue
        is_reference = r["simulator"] == reference and r["label"].startswith(reference)
        ref = reference_run(r["n"], r.get("seed", 0) - (1 if is_reference else 0))
        if ref is not None and ref is not r:
            r["kl_vs_" + reference] = kl(r, ref)
    per_seed = []
    for seed in sorted({r.get("seed", 0) for r in results}):
        rows = []
        for r in results:
            ref = reference_run(r["n"], seed)
            if (r.get("seed", 0) != seed or ref is None or ref is r
                    or "kl_vs_" + reference not in r):
                continue
            st, sr = stats[id(r)], stats[id(ref)]
            row = {"population": f"{r['label']} N={r['n']}",
                   "rate_test": float(np.mean(st["rate"])),
                   "rate_ref": float(np.mean(sr["rate"])),
                   **{f"{k}_{side}": float(np.nanmean(x[k])) if np.any(np.isfinite(x[k]))
                      else float("nan")
                      for k in ("cv", "correlation") for side, x in (("test", st), ("ref", sr))},
                   **{f"kl_{k}": v for k, v in r["kl_vs_" + reference].items()}}
            nxt = reference_run(r["n"], seed + 1)
            if nxt is not None:
                row.update({f"kl_{k}_baseline": v for k, v in kl(nxt, ref).items()})
            rows.append(row)
        if rows:
            per_seed.append(rows)
    return per_seed


COLS = [("build_s", "build (s)", "{:.2f}"), ("run_s", "run (s)", "{:.2f}"),
        ("run_cpu_s", "run CPU (s)", "{:.2f}"),
        ("wall_per_sim_s", "wall / sim s", "{:.2f}"),
        ("neuron_steps_per_s", "neuron-steps/s", "{:.3g}"),
        ("ns_per_neuron_step", "ns / neuron-step", "{:.0f}"),
        ("peak_rss_mb", "peak RSS (MB)", "{:.0f}"), ("mean_rate_hz", "rate (Hz)", "{:.2f}"),
        ("synapses", "synapses", "{:d}")]


def markdown(results, reference="neuron", seeds=False):
    """Timing table and (when computed) network-statistics table; ``seeds``: a seed
    column in both."""
    from pyNN_ann.validation.report import markdown_table
    rows, stat_rows = [], []
    kl = "kl_vs_" + reference
    for r in results:
        head = [r["label"], r["n"]] + ([r.get("seed")] if seeds else [])
        if r.get("error"):
            rows.append(head + ["failed: " + r["error"].replace("|", "/")[:100]]
                        + [""] * len(COLS))
            continue
        rows.append(head + [f.format(r[k]) for k, _, f in COLS]
                    + [f"{r['run_ratio_vs_ann']:.2f}" if r.get("run_ratio_vs_ann") else "–"])
        if "mean_cv" in r:
            fmt = lambda x, f="{:.3f}": "–" if x is None or not np.isfinite(x) else f.format(x)  # noqa
            stat_rows.append(head + [fmt(r["mean_rate_hz"], "{:.2f}"),
                                     fmt(r["mean_cv"]), fmt(r["mean_corr"], "{:.4f}")]
                             + [fmt(r.get(kl, {}).get(k)) for k in STATISTICS])
    first = ["simulator", "N"] + (["seed"] if seeds else [])
    out = markdown_table(first + [c[1] for c in COLS] + ["run time / ann"], rows)
    if stat_rows:
        out += "\n\nNetwork statistics (KL divergence of per-neuron distributions to the " \
               f"{reference} run of the same seed; {reference} runs: to the {reference} " \
               "run of the seed before, the reference-vs-reference baseline; " \
               f"`{reference}-seed2` = {reference} with the next seed):\n\n" + markdown_table(
                   first + ["rate (Hz)", "mean CV ISI", "mean corr (2 ms)",
                            "KL rate", "KL CV", "KL corr"], stat_rows)
    return out


def _add_ratios(results):
    """Run time of each run over that of the pyNN.ann run of the same N and seed (the
    seed's own when there is one, else any)."""
    base = next((r["label"] for r in results if r.get("simulator") == "ann"), "ann")
    ann = {}
    for r in results:
        if r["label"] == base and not r.get("error"):
            ann.setdefault(r["n"], r)
            ann[(r["n"], r.get("seed"))] = r
    for r in results:
        mine = ann.get((r["n"], r.get("seed")), ann.get(r["n"]))
        if not r.get("error") and mine is not None:
            r["run_ratio_vs_ann"] = r["run_s"] / mine["run_s"]


def _parser(prog, network):
    p = argparse.ArgumentParser(prog=prog, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--network", choices=sorted(networks.NETWORKS), default=network,
                   help=f"network to simulate (default {network})")
    p.add_argument("--sizes", default="1000,4000", help="N, comma-separated")
    p.add_argument("--simulators", default="ann,neuron",
                   help="e.g. ann,neuron,nest; ann-tf and ann-jax run pyNN.ann on the "
                        "TensorFlow or the JAX backend of Keras (ann: KERAS_BACKEND's)")
    p.add_argument("--duration", type=float, default=1000.0, help="ms")
    p.add_argument("--dt", type=float, default=0.1, help="ms")
    p.add_argument("--warmup", type=float, default=0.0,
                   help="ms simulated before the timed run (untimed; for pyNN.ann it "
                        "takes the XLA compilation out of the run time when equal to "
                        "--duration); 0: none")
    defaults = {k: ", ".join(f"{n}: {net.defaults[k]:g}" for n, net in networks.NETWORKS.items())
                for k in ("delay", "input_rate", "input_weight", "p", "we", "wi")}
    p.add_argument("--delay", type=float, help=f"synaptic delay (ms; {defaults['delay']})")
    p.add_argument("--input-rate", type=float,
                   help=f"Poisson drive per cell (Hz; {defaults['input_rate']})")
    p.add_argument("--input-weight", type=float,
                   help=f"drive weight (uS; {defaults['input_weight']})")
    p.add_argument("--no-recurrent", action="store_true", help="unconnected cells")
    p.add_argument("--p", type=float,
                   help=f"recurrent connection probability ({defaults['p']})")
    p.add_argument("--we", type=float, help=f"E weight (uS; {defaults['we']})")
    p.add_argument("--wi", type=float, help=f"I weight (uS; {defaults['wi']})")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--seeds", type=int, default=1,
                   help="run everything for this many seeds from --seed on, and report "
                        "the per-seed KLs and their means (needs --reference-repeat)")
    p.add_argument("--option", action="append", default=[], metavar="SIM:KEY=VALUE",
                   help="extra setup() option for one simulator, e.g. ann:use_xla=True")
    p.add_argument("--no-statistics", action="store_true",
                   help="skip rate/CV/correlation distributions and KL divergences")
    p.add_argument("--reference", default="neuron", help="reference for the KL divergences")
    p.add_argument("--reference-repeat", action="store_true",
                   help="run the reference again with other seeds (KL baseline)")
    p.add_argument("--timeout", type=float, default=3600.0, help="s per run")
    p.add_argument("--output", default="benchmark_results",
                   help="folder for benchmark.md and benchmark.json")
    p.add_argument("--plot", metavar="PATH", help="write a log-log plot of run time vs N")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child-args", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    return p


def options_table(runs, args):
    """Markdown table of the setup() options each simulator ran with."""
    from pyNN_ann.validation.report import markdown_table
    rows = []
    for sim_name, label, seed in runs:
        opts = dict(setup_options(sim_name, seed), timestep=args["dt"], min_delay=args["delay"])
        opts.update(args["options"].get(sim_name, {}))
        note = {"neuron": "fixed step, CVODE off",
                "nest": "one thread"}.get(sim_name, "defaults (all CPU threads)")
        rows.append([label, ", ".join(f"{k}={v}" for k, v in opts.items()), note])
    return markdown_table(["simulator", "setup() options", "notes"], rows)


def main(argv=None, prog=None, network="cobahh"):
    """Run the benchmark (or, with ``--child``, one run of it); returns the results."""
    p = _parser(prog or "pynn-ann benchmark", network)
    a = p.parse_args(argv)
    if a.child:
        res = run_child(a.child, a.child_n, json.loads(a.child_args))
        with open(a.child_out, "w") as f:
            json.dump(res, f)
        return res

    from pyNN_ann.surrogates.training.reference import _parse_option
    options = {}
    for o in a.option:
        sim_name, _, kv = o.partition(":")
        k, v = _parse_option(kv)
        options.setdefault(sim_name, {})[k] = v
    net = networks.NETWORKS[a.network]
    given = {"delay": a.delay, "input_rate": a.input_rate, "input_weight": a.input_weight,
             "p": a.p, "we": a.we, "wi": a.wi}
    args = dict(net.defaults, **{k: v for k, v in given.items() if v is not None})
    args.update(network=a.network, dt=a.dt, duration=a.duration, warmup=a.warmup,
                recurrent=not a.no_recurrent, seed=a.seed, options=options)
    sizes = [int(s) for s in a.sizes.split(",") if s]
    if a.seeds < 1 or (a.seeds > 1 and not a.reference_repeat):
        p.error("--seeds K needs K >= 1, and --reference-repeat for K > 1 (the baselines)")
    simulators = [(split_label(s)[0], s) for s in a.simulators.split(",") if s]
    runs = [(sim_name, label, a.seed + k) for k in range(a.seeds)
            for sim_name, label in simulators]
    if a.reference_repeat and a.reference in [r[0] for r in runs]:
        runs.append((a.reference, a.reference + "-seed2", a.seed + a.seeds))
    if "neuron" in [r[0] for r in runs]:
        from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
        ensure_neuron_mechanisms()
    results = []
    for n in sizes:
        for sim_name, label, seed in runs:
            print(f"[benchmark] {a.network} N={n} {label} seed {seed} ...", flush=True)
            r = run_in_subprocess(sim_name, n, dict(args, seed=seed), timeout=a.timeout,
                                  spikes=not a.no_statistics,
                                  keras_backend=split_label(label)[1])
            r["label"], r["seed"] = label, seed
            results.append(r)
            if r.get("error"):
                print(f"  FAILED: {r['error']}\n{r.get('stderr', '')[-1500:]}", flush=True)
            else:
                print(f"  build {r['build_s']:.2f} s, run {r['run_s']:.2f} s, "
                      f"{r['ns_per_neuron_step']:.0f} ns/neuron-step, "
                      f"peak {r['peak_rss_mb']:.0f} MB, rate {r['mean_rate_hz']:.2f} Hz", flush=True)
    _add_ratios(results)
    per_seed = []
    if not a.no_statistics:
        per_seed = add_statistics(results, a.warmup + a.duration, reference=a.reference)
    table = markdown(results, reference=a.reference, seeds=a.seeds > 1)
    if a.seeds > 1 and per_seed:
        from pyNN_ann.validation.compare import seed_summary
        seeds = sorted({r.get("seed") for r in results if "kl_vs_" + a.reference in r
                        and r["simulator"] != a.reference})
        table += "\n" + "\n".join(seed_summary(per_seed, seeds))
    print("\n" + table)
    os.makedirs(a.output, exist_ok=True)
    settings = dict(args, cpu_count=os.cpu_count(), command=" ".join(
        [p.prog] + (sys.argv[1:] if argv is None else list(argv))))
    with open(os.path.join(a.output, "benchmark.json"), "w") as f:
        json.dump({"settings": settings, "results": results}, f, indent=1)
    drive = (f"Poisson drive {args['input_rate']:g} Hz × {args['input_weight']:g} uS per cell"
             if args["input_rate"] > 0 else "no Poisson drive")
    connectivity = (f"recurrent 80/20 E/I, p = {args['p']:g}, weights {args['we']:g} / "
                    f"{args['wi']:g} uS" if args["recurrent"] else "unconnected")
    with open(os.path.join(a.output, "benchmark.md"), "w") as f:
        f.write(f"# {net.title} benchmark\n\n"
                f"    {settings['command']}\n\n"
                f"{net.notes}: N {net.celltype} cells, {connectivity}, {drive}, delay "
                f"{args['delay']:g} ms; {a.duration:g} ms at dt {a.dt:g} ms"
                + (f" after an untimed {a.warmup:g} ms warm-up (rates and statistics over "
                   "both)" if a.warmup else "") + ", spikes recorded; "
                f"{os.cpu_count()} CPU cores; each run in a fresh process. "
                "run CPU: process CPU time during run() (all threads).\n\n"
                + options_table(runs, args) + "\n\n" + table + "\n")
    print(f"\nwritten: {os.path.join(a.output, 'benchmark.md')}")
    if a.plot:
        from pyNN_ann.validation.report import plot_run_times
        plot_run_times(results, a.plot, title=f"{net.title}, {a.duration:g} ms at dt {a.dt:g} ms")
        print(f"written: {a.plot}")
    return results


if __name__ == "__main__":
    main()
