"""``pynn-ann compare [OPTIONS] SCRIPT [-- SCRIPT-OPTIONS]``: run one unmodified PyNN script on pyNN.ann and
on a reference backend, and report how far apart the recorded activity is.

For every Population that recorded spikes: mean rate, and the distributions of
per-cell rate, CV of ISI and pairwise spike-count correlation (2 ms bins), compared
by KL divergence (the network criterion of docs/results.md). With ``--repeat``, the
reference is run a second time with another seed (``rng_seed`` passed through
``setup`` is not universal, so the script must take a seed option, e.g.
``--seed-option "--seed {seed}"``) to give the reference-vs-reference divergence.
Without a seed option, the second reference run shifts every seed the script gives
``NumpyRNG`` and ``setup(rng_seed=...)`` instead (``--reseed``).
``--reference-option use_cvode=True`` (repeatable) passes setup() options to the
reference runs, e.g. a converged pyNN.neuron; ``--option`` those of the tested run
(e.g. ``spike_precision=on_grid``). ``--cache DIR`` keeps every run's capture, keyed by
simulator, script, arguments, seed shift and options, so that comparing other
settings against the same reference reruns only what changed. ``--seeds N`` repeats the
whole comparison for N seeds (tested and reference runs with the same seeds, the
baseline with others) and adds the per-seed rows and their mean: networks are chaotic,
and one pair of runs is a noisy judge.
"""

import argparse
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
import warnings

import numpy as np

from ..reference_simulators import QUEUE_FULL
from . import metrics


def capture(simulator, script, args, timeout=None, reseed=0, setup_options=()):
    """Run ``script`` on ``pyNN.<simulator>`` in a fresh process; returns its capture.
    ``reseed`` and ``setup_options`` (``key=value`` strings): see ``capture``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "capture.pkl")
        flags = ["--reseed", str(reseed)] if reseed else []
        for option in setup_options:
            flags += ["--setup-option", option]
        script = os.path.abspath(script)  # the script runs in its own directory
        cmd = [sys.executable, "-m", "pyNN_ann.validation.capture", *flags, simulator, out,
               script, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=os.path.dirname(script))
        if proc.returncode != 0 or not os.path.exists(out):
            raise RuntimeError(f"{script} failed on pyNN.{simulator}:\n{proc.stderr[-3000:]}")
        if QUEUE_FULL in proc.stdout:
            warnings.warn(f"{script} on pyNN.{simulator}: {QUEUE_FULL!r}: its alpha synapses "
                          "dropped input spikes (at most 1000 within 20 tau_syn per synapse "
                          "in pyNN.neuron), so this run is wrong for the cells concerned",
                          RuntimeWarning, stacklevel=2)
        with open(out, "rb") as f:
            return pickle.load(f)


def code_version(simulator):
    """What a cached run of ``simulator`` depends on besides its inputs: for pyNN.ann a
    digest of its sources and shipped weights (a capture made by other code is never
    reused), otherwise the installed versions of PyNN and the simulator."""
    from importlib import metadata
    versions = []
    for dist in ("PyNN", {"neuron": "neuron", "nest": "nest-simulator"}.get(simulator)):
        try:
            versions.append(metadata.version(dist) if dist else None)
        except metadata.PackageNotFoundError:
            versions.append(None)
    if simulator != "ann":
        return tuple(versions)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # pyNN_ann
    digest = hashlib.sha1()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".py", ".npz", ".json")):
                digest.update(name.encode())
                with open(os.path.join(folder, name), "rb") as f:
                    digest.update(f.read())
    return tuple(versions) + (digest.hexdigest(),)


def cached_capture(cache, simulator, script, args, timeout=None, reseed=0,
                   setup_options=()):
    """:func:`capture`, kept in directory ``cache`` (None: no cache) under a key of
    everything that defines the run (the script's text and :func:`code_version`
    included)."""
    if cache is None:
        return capture(simulator, script, args, timeout, reseed, setup_options)
    with open(script, "rb") as f:
        text = f.read()
    key = hashlib.sha1(repr((simulator, text, list(args), reseed, sorted(setup_options),
                             code_version(simulator))).encode()).hexdigest()[:16]
    path = os.path.join(cache, f"{simulator}_{os.path.basename(script)}_{key}.pkl")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return pickle.load(f)
    result = capture(simulator, script, args, timeout, reseed, setup_options)
    os.makedirs(cache, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(result, f)
    return result


def _upto(trains, t_stop):
    return [np.asarray(t)[np.asarray(t) <= t_stop] for t in trains]


def compare_captures(test, reference, baseline=None):
    """Rows of statistics per Population present in both captures."""
    rows = []
    ref_pops = {p["label"]: p for p in reference["populations"]}
    base_pops = {p["label"]: p for p in baseline["populations"]} if baseline else {}
    for pop in test["populations"]:
        ref = ref_pops.get(pop["label"])
        if ref is None:
            continue
        duration = round(min(pop["t_stop"], ref["t_stop"]), 3)  # t carries float error
        st = metrics.population_statistics(_upto(pop["spikes"], duration), duration)
        sr = metrics.population_statistics(_upto(ref["spikes"], duration), duration)
        row = {"population": pop["label"], "celltype": pop["celltype"], "size": pop["size"],
               "rate_test": float(np.mean(st["rate"])), "rate_ref": float(np.mean(sr["rate"])),
               **{f"{key}_{side}": _mean(stats[key]) for key in ("cv", "correlation")
                  for side, stats in (("test", st), ("ref", sr))},
               "stats_test": st, "stats_ref": sr}
        for key in ("rate", "cv", "correlation"):
            row[f"kl_{key}"] = metrics.kl_divergence(st[key], sr[key])
        if pop["label"] in base_pops:
            sb = metrics.population_statistics(
                _upto(base_pops[pop["label"]]["spikes"], duration), duration)
            for key in ("rate", "cv", "correlation"):
                row[f"kl_{key}_baseline"] = metrics.kl_divergence(sb[key], sr[key])
        rows.append(row)
    return rows


def _mean(values):
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")


def _fmt(x):
    return "–" if x is None or not np.isfinite(x) else f"{x:.3g}"


def seed_summary(per_seed, seeds=None):
    """Markdown lines: each seed's KLs and baselines, then their means and how often
    KL(test||ref) <= KL(ref||ref') held (``seeds``: the seeds' names; default 0, 1, ...)."""
    keys = ("rate", "cv", "correlation")
    lines = ["", f"## Over {len(per_seed)} seeds", "",
             "| seed | population | rate (Hz) | reference rate (Hz) | mean CV ISI (ref) "
             "| mean corr (ref) | KL rate / CV / corr | baseline |",
             "|---|---|---|---|---|---|---|---|"]
    for k, rows in enumerate(per_seed):
        for r in rows:
            lines.append(f"| {k if seeds is None else seeds[k]} | {r['population']} | "
                         f"{r['rate_test']:.2f} | "
                         f"{r['rate_ref']:.2f} | "
                         f"{_fmt(r.get('cv_test'))} ({_fmt(r.get('cv_ref'))}) | "
                         f"{_fmt(r.get('correlation_test'))} "
                         f"({_fmt(r.get('correlation_ref'))}) | "
                         + " / ".join(_fmt(r[f"kl_{x}"]) for x in keys) + " | "
                         + " / ".join(_fmt(r.get(f"kl_{x}_baseline")) for x in keys) + " |")
    lines += ["", "| population | mean KL rate (baseline) | mean KL CV (baseline) "
              "| mean KL corr (baseline) | seeds where KL <= baseline (rate / CV / corr) |",
              "|---|---|---|---|---|"]
    for label in [r["population"] for r in per_seed[0]]:
        mine = [r for rows in per_seed for r in rows if r["population"] == label]
        cells = []
        for x in keys:
            kl = np.mean([r[f"kl_{x}"] for r in mine])
            base = np.mean([r.get(f"kl_{x}_baseline", np.nan) for r in mine])
            cells.append(f"{_fmt(kl)} ({_fmt(base)})")
        met = [sum(r[f"kl_{x}"] <= r.get(f"kl_{x}_baseline", -np.inf) for r in mine)
               for x in keys]
        lines.append(f"| {label} | " + " | ".join(cells) + " | "
                     + " / ".join(f"{m} of {len(mine)}" for m in met) + " |")
    return lines


def write_report(rows, test, reference, output, command, per_seed=None):
    os.makedirs(output, exist_ok=True)
    lines = [f"# {os.path.basename(test['script'])}: pyNN.{test['simulator']} vs "
             f"pyNN.{reference['simulator']}", "", f"    {command}", "",
             f"Wall time: {test['wall_s']:.1f} s (pyNN.{test['simulator']}), "
             f"{reference['wall_s']:.1f} s (pyNN.{reference['simulator']}).", "",
             "| population | cell type | N | rate (Hz) | reference rate (Hz) | KL rate | KL CV "
             "| KL corr | baseline KL rate | baseline KL CV | baseline KL corr |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['population']} | {r['celltype']} | {r['size']} | {r['rate_test']:.2f} | "
            f"{r['rate_ref']:.2f} | {_fmt(r['kl_rate'])} | {_fmt(r['kl_cv'])} | "
            f"{_fmt(r['kl_correlation'])} | {_fmt(r.get('kl_rate_baseline'))} | "
            f"{_fmt(r.get('kl_cv_baseline'))} | {_fmt(r.get('kl_correlation_baseline'))} |")
    lines += ["", "KL divergences (nats) of the per-cell distributions to the reference; the "
              "baseline columns compare a second reference run with another seed."]
    _plot(rows, test, reference, os.path.join(output, "distributions.png"))
    lines += ["", "![distributions](distributions.png)"]
    if per_seed:
        lines += seed_summary(per_seed)
    with open(os.path.join(output, "compare.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return "\n".join(lines)


def _plot(rows, test, reference, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    if not rows:
        return
    fig, axes = plt.subplots(len(rows), 3, figsize=(12, 3 * len(rows)), squeeze=False)
    for ax_row, r in zip(axes, rows):
        for ax, key, unit in zip(ax_row, ("rate", "cv", "correlation"), ("Hz", "", "")):
            a, b = r["stats_test"][key], r["stats_ref"][key]
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            if len(a) and len(b):
                edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=30)
                ax.hist(b, edges, histtype="step", color="k", label=reference["simulator"])
                ax.hist(a, edges, histtype="step", color="tab:blue", label=test["simulator"])
            ax.set_xlabel(f"{key} {unit}".strip())
            ax.set_title(f"{r['population']}: {key}", fontsize=9)
        ax_row[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(prog="pynn-ann compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("script")
    p.add_argument("--simulator", default="ann", help="tested backend (default ann)")
    p.add_argument("--reference", default="neuron", help="reference backend (default neuron)")
    p.add_argument("--repeat", action="store_true",
                   help="run the reference twice, with other seeds, for a baseline")
    p.add_argument("--reseed", type=int, default=1000,
                   help="seed shift of the baseline run when there is no --seed-option")
    p.add_argument("--reference-option", action="append", default=[], metavar="KEY=VALUE",
                   help="setup() option of the reference runs (e.g. use_cvode=True)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="setup() option of the tested run (e.g. spike_precision=on_grid)")
    p.add_argument("--cache", default=None,
                   help="directory keeping the runs' captures (reused when identical)")
    p.add_argument("--seeds", type=int, default=1,
                   help="repeat the comparison for this many seeds (needs --repeat)")
    p.add_argument("--seed-option", default=None,
                   help='how the script takes a seed, e.g. "--seed {seed}"')
    p.add_argument("--output", default="compare_report")
    p.add_argument("--timeout", type=float, default=None, help="s per run")
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = p.parse_args(argv[:cut])  # options after "--" belong to the script
    script_args = argv[cut + 1:]
    command = "pynn-ann compare " + " ".join(argv)
    if args.reference == "neuron":
        from ..reference_simulators import ensure_neuron_mechanisms
        ensure_neuron_mechanisms()
    seeded = (lambda s: script_args + args.seed_option.format(seed=s).split()) \
        if args.seed_option else (lambda s: script_args)
    if args.seeds > 1 and not args.repeat:
        p.error("--seeds needs --repeat (each seed's baseline)")
    per_seed = []
    for k in range(args.seeds):
        # seed k: the script's seed option 1 + 2k (baseline 2 + 2k), or every seed
        # shifted by k * reseed (baseline: half a reseed further; one seed: a reseed)
        shift = 0 if args.seed_option else k * args.reseed
        base_shift = 0 if args.seed_option else (
            args.reseed if args.seeds == 1 else shift + args.reseed // 2)
        test = cached_capture(args.cache, args.simulator, args.script, seeded(1 + 2 * k),
                              args.timeout, reseed=shift, setup_options=args.option)
        reference = cached_capture(args.cache, args.reference, args.script,
                                   seeded(1 + 2 * k), args.timeout, reseed=shift,
                                   setup_options=args.reference_option)
        baseline = None
        if args.repeat:
            baseline = cached_capture(args.cache, args.reference, args.script,
                                      seeded(2 + 2 * k), args.timeout, reseed=base_shift,
                                      setup_options=args.reference_option)
        rows = compare_captures(test, reference, baseline)
        if k == 0:
            first = (rows, test, reference)
        per_seed.append(rows)
    rows, test, reference = first
    report = write_report(rows, test, reference, args.output, command,
                          per_seed if args.seeds > 1 else None)
    print(report)
    print(f"\nreport: {os.path.join(args.output, 'compare.md')}")
    return per_seed if args.seeds > 1 else rows


if __name__ == "__main__":
    main()
