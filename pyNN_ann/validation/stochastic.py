"""Statistical validation of stochastic cell types (GIF_cond_exp): ``pynn-ann validate
GIF_cond_exp``.

Escape-noise spikes cannot be compared spike by spike, so each of ``--cells`` held-out
random cells (parameters and input spike trains of the type's spec) is simulated in
``--trials`` independent trials with identical inputs, on pyNN.ann and on the
reference (pyNN.nest's gif_cond_exp at the same dt, seed A), and once more on the
reference with another seed (seed B): the baseline, i.e. how far two runs of the
reference itself lie apart with this many trials. Per cell (trials pooled):

* firing rate and its error (%), relative to the reference;
* CV of the interspike intervals (Elephant) and its difference;
* the Kolmogorov-Smirnov statistic between the two ISI distributions;
* the correlation of the trial-averaged PSTHs (5 ms bins): the stimulus-locked
  response, as the inputs are identical;
* Vm: RMSE before the first spike of each pair of trials (same inputs and no spike
  yet, so the trajectories are deterministic there: the membrane's own accuracy),
  and the difference of the mean subthreshold Vm (±2 ms around spikes masked).

Aggregates: pooled rate error, distribution of per-cell rate errors, mean |ΔCV|,
median KS, KS of the pooled ISIs, mean PSTH correlation, KL divergences of the
distributions of per-cell rate and CV. ``--compare-with`` adds other simulators
(e.g. ``nest-dt0.01``), compared with the reference like pyNN.ann.
"""

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..surrogates.training.protocols import random_protocol
from ..surrogates.training.reference import load_result, run_in_subprocess, save_result
from ..surrogates.training.specs import SPECS
from . import metrics
from .single_cell import HELD_OUT_SEED, parse_simulator, to_json

CELLTYPES = tuple(ct for ct, spec in SPECS.items() if getattr(spec, "stochastic", False))
REFERENCE_SEED, BASELINE_SEED, ANN_SEED = 1001, 2002, 3003
PSTH_BIN = 5.0  # ms
MIN_SPIKES = 10  # per cell (all trials): fewer and its rate error / CV / KS are not used
HEADLINE = (("rate_error_pct", "rate error (pooled)", "{:+.1f} %"),
            ("rate_error_abs_median_pct", "median abs per-cell rate error", "{:.1f} %"),
            ("rate_error_abs_p90_pct", "90th pct abs per-cell rate error", "{:.1f} %"),
            ("cv_abs_diff_mean", "mean abs ΔCV ISI", "{:.3f}"),
            ("ks_median", "median KS (ISI)", "{:.3f}"),
            ("ks_reject_fraction", "cells KS p < 0.01", "{:.2f}"),
            ("ks_pooled", "KS pooled ISIs", "{:.3f}"),
            ("psth_corr_mean", "mean PSTH corr", "{:.3f}"),
            ("kl_rate", "KL rate", "{:.3f}"), ("kl_cv", "KL CV", "{:.3f}"),
            ("vm_rmse_before_first_spike_mv", "Vm RMSE before 1st spike", "{:.2f} mV"),
            ("vm_mean_abs_diff_mv", "mean abs Δ mean Vm", "{:.2f} mV"))


def run(protocol, label, dt, seed, cache_dir=None, key=None, workers=2):
    """Spikes and v of ``protocol`` on simulator ``label`` with ``seed``. The reference
    runs in ``workers`` processes of whole cells (all their trials), each seeded
    ``seed + part``; pyNN.ann in one. Reference results are cached, with the wall time
    of the run that made them (``wall_s``; ``cached`` True when loaded)."""
    backend, options, timestep, cacheable = parse_simulator(label, dt)
    path = (os.path.join(cache_dir, f"{key}_{label}_seed{seed}.npz")
            if cache_dir and cacheable else None)
    if path and os.path.exists(path):
        return dict(load_result(path), cached=True)
    started = time.perf_counter()
    parts = 1 if backend == "ann" else max(1, min(workers, protocol.size))
    trials = protocol.meta.get("trials", 1)
    cells = protocol.size // trials
    bounds = np.linspace(0, cells, parts + 1).astype(int) * trials

    def job(i):
        index = np.arange(bounds[i], bounds[i + 1])
        return run_in_subprocess(protocol.subset(index), simulator=backend,
                                 options=dict(options, rng_seed=seed + i), timestep=timestep)

    with ThreadPoolExecutor(max_workers=parts) as pool:
        results = list(pool.map(job, range(parts)))
    out = {"spikes": [s for r in results for s in r["spikes"]],
           "v": np.vstack([r["v"] for r in results]),
           "wall_s": np.float64(time.perf_counter() - started)}
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        save_result(path, out)
    return out


def _isis(trains):
    from elephant.statistics import isi
    parts = [isi(np.sort(np.asarray(t, float))) for t in trains if len(t) > 1]
    return np.concatenate(parts) if parts else np.zeros(0)


def _cv(isis):
    from elephant.statistics import cv
    return float(cv(isis)) if len(isis) >= MIN_SPIKES else np.nan


def _psth(trains, duration):
    edges = np.arange(0.0, duration + PSTH_BIN / 2, PSTH_BIN)
    counts = sum(np.histogram(t, edges)[0] for t in trains)
    return counts / len(trains) / PSTH_BIN * 1000.0  # Hz


def compare(ref, test, trials, duration, dt):
    """Per-cell and aggregate statistics of ``test`` against ``ref`` (result dicts of the
    same repeated protocol: cell c, trial t at c * trials + t)."""
    from scipy.stats import ks_2samp
    n = len(ref["spikes"]) // trials
    rows = {k: np.full(n, np.nan) for k in (
        "rate_ref", "rate_test", "rate_error", "cv_ref", "cv_test", "ks", "ks_p",
        "psth_corr", "vm_mean_ref", "vm_mean_test")}
    isi_ref_all, isi_test_all, ss, count = [], [], 0.0, 0
    for c in range(n):
        sl = slice(c * trials, (c + 1) * trials)
        tr, tt = ref["spikes"][sl], test["spikes"][sl]
        n_ref, n_test = sum(len(t) for t in tr), sum(len(t) for t in tt)
        rows["rate_ref"][c] = n_ref / trials / duration * 1000.0
        rows["rate_test"][c] = n_test / trials / duration * 1000.0
        if n_ref >= MIN_SPIKES:
            rows["rate_error"][c] = 100.0 * (n_test - n_ref) / n_ref
        ir, it = _isis(tr), _isis(tt)
        isi_ref_all.append(ir)
        isi_test_all.append(it)
        rows["cv_ref"][c], rows["cv_test"][c] = _cv(ir), _cv(it)
        if len(ir) >= MIN_SPIKES and len(it) >= MIN_SPIKES:
            ks = ks_2samp(ir, it)
            rows["ks"][c], rows["ks_p"][c] = ks.statistic, ks.pvalue
        pr, pt = _psth(tr, duration), _psth(tt, duration)
        if pr.std() > 0 and pt.std() > 0:
            rows["psth_corr"][c] = np.corrcoef(pr, pt)[0, 1]
        for key, res, trains in (("vm_mean_ref", ref, tr), ("vm_mean_test", test, tt)):
            v = res["v"][sl]
            keep = [~metrics.spike_mask(v.shape[1], dt, [t]) for t in trains]
            rows[key][c] = np.mean(np.concatenate([vi[k] for vi, k in zip(v, keep)]))
        for i in range(sl.start, sl.stop):  # same inputs, no spike yet: deterministic
            first = min([t[0] for t in (ref["spikes"][i], test["spikes"][i]) if len(t)]
                        + [duration])
            k = int(np.floor(first / dt + 1e-9))
            d = test["v"][i, :k] - ref["v"][i, :k]
            ss, count = ss + float(np.sum(d * d)), count + len(d)
    isi_ref_all, isi_test_all = np.concatenate(isi_ref_all), np.concatenate(isi_test_all)
    err = rows["rate_error"][np.isfinite(rows["rate_error"])]
    n_ref_total = rows["rate_ref"].sum()
    ks = rows["ks"][np.isfinite(rows["ks"])]
    agg = {
        "cells": n, "trials": trials, "duration_ms": duration,
        "cells_compared": int(len(err)),
        "rate_ref_hz": float(np.mean(rows["rate_ref"])),
        "rate_test_hz": float(np.mean(rows["rate_test"])),
        "rate_error_pct": 100.0 * (rows["rate_test"].sum() / n_ref_total - 1.0)
        if n_ref_total else np.nan,
        "rate_error_median_pct": float(np.median(err)) if len(err) else np.nan,
        "rate_error_abs_mean_pct": float(np.mean(np.abs(err))) if len(err) else np.nan,
        "rate_error_abs_median_pct": float(np.median(np.abs(err))) if len(err) else np.nan,
        "rate_error_abs_p90_pct": float(np.percentile(np.abs(err), 90)) if len(err) else np.nan,
        "rate_error_within_10pct": float(np.mean(np.abs(err) <= 10.0)) if len(err) else np.nan,
        "cv_ref_mean": float(np.nanmean(rows["cv_ref"])),
        "cv_test_mean": float(np.nanmean(rows["cv_test"])),
        "cv_abs_diff_mean": float(np.nanmean(np.abs(rows["cv_test"] - rows["cv_ref"]))),
        "ks_median": float(np.median(ks)) if len(ks) else np.nan,
        "ks_mean": float(np.mean(ks)) if len(ks) else np.nan,
        "ks_reject_fraction": float(np.mean(rows["ks_p"][np.isfinite(rows["ks_p"])] < 0.01))
        if len(ks) else np.nan,
        "ks_pooled": float(ks_2samp(isi_ref_all, isi_test_all).statistic)
        if len(isi_ref_all) and len(isi_test_all) else np.nan,
        "psth_corr_mean": float(np.nanmean(rows["psth_corr"])),
        "kl_rate": metrics.kl_divergence(rows["rate_test"], rows["rate_ref"], bins=10),
        "kl_cv": metrics.kl_divergence(rows["cv_test"], rows["cv_ref"], bins=10),
        "vm_rmse_before_first_spike_mv": float(np.sqrt(ss / count)) if count else np.nan,
        "vm_samples_before_first_spike": int(count),
        "vm_mean_abs_diff_mv": float(np.nanmean(np.abs(rows["vm_mean_test"]
                                                       - rows["vm_mean_ref"]))),
    }
    return {"aggregate": agg, "per_cell": rows}


def validate_celltype(celltype, cells=40, trials=20, duration=5000.0, dt=0.1,
                      seed=HELD_OUT_SEED, compare_with=(), cache_dir=None, workers=2):
    """pyNN.ann (and ``compare_with``) against the reference (seed A); baseline: the
    reference with seed B. Returns (metrics, raw results)."""
    spec = SPECS[celltype]
    protocol = random_protocol(spec, cells, duration, dt=dt, seed=seed).repeat(trials)
    protocol.meta["trials"] = trials
    key = f"{celltype}_seed{seed}_n{cells}x{trials}_T{duration:g}_dt{dt:g}"
    reference = spec.reference
    runs, walls, cached = {}, {}, []
    for name, label, s in ([("reference", reference, REFERENCE_SEED),
                            ("baseline", reference, BASELINE_SEED),
                            ("ann", "ann", ANN_SEED)]
                           + [(lab, lab, REFERENCE_SEED + 17) for lab in compare_with]):
        runs[name] = run(protocol, label, dt, s, cache_dir, key, workers)
        walls[name] = float(runs[name].pop("wall_s", np.nan))
        if runs[name].pop("cached", False):
            cached.append(name)
    backend, options, _, _ = parse_simulator(reference, dt)
    out = {"celltype": celltype, "model": spec.model,
           "reference": {"simulator": backend, "label": reference, "options": options,
                         "seed": REFERENCE_SEED, "baseline_seed": BASELINE_SEED},
           "protocol": {"seed": seed, "cells": cells, "trials": trials,
                        "duration_ms": duration, "dt": dt, "ann_seed": ANN_SEED},
           "wall_s": walls, "cached": cached, "results": {}}
    per_cell = {}
    for name in runs:
        if name == "reference":
            continue
        cmp = compare(runs["reference"], runs[name], trials, duration, dt)
        out["results"][name] = cmp["aggregate"]
        per_cell[name] = cmp["per_cell"]
    return out, {"runs": runs, "per_cell": per_cell, "protocol": protocol}


# --- report ----------------------------------------------------------------------

def _label(name, reference):
    return {"ann": "pyNN.ann", "baseline": f"{reference}, other seed (baseline)"}.get(name, name)


def summary_table(m):
    from .report import markdown_table
    ref = m["reference"]["label"]
    header = ["tested vs " + ref] + [h for _, h, _ in HEADLINE]
    rows = []
    for name, agg in m["results"].items():
        rows.append([_label(name, ref)] + [
            "–" if agg.get(k) is None or not np.isfinite(agg.get(k)) else f.format(agg[k])
            for k, _, f in HEADLINE])
    return markdown_table(header, rows)


def _figures(m, raw, output):
    from .report import _plt
    plt = _plt()
    ct, dt = m["celltype"], m["protocol"]["dt"]
    trials, duration = m["protocol"]["trials"], m["protocol"]["duration_ms"]
    pc, runs = raw["per_cell"], raw["runs"]
    names = [n for n in ("ann", "baseline") if n in pc] + [n for n in pc if n not in
                                                           ("ann", "baseline")]
    ref = m["reference"]["label"]
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    top = max(max(np.nanmax(pc[n]["rate_test"]) for n in names),
              np.nanmax(pc[names[0]]["rate_ref"])) * 1.1
    for j, n in enumerate(names):
        axes[0].plot(pc[n]["rate_ref"], pc[n]["rate_test"], "o", ms=4, alpha=0.7,
                     color=f"C{j}", label=_label(n, ref))
        axes[1].plot(pc[n]["cv_ref"], pc[n]["cv_test"], "o", ms=4, alpha=0.7, color=f"C{j}")
        err = pc[n]["rate_error"][np.isfinite(pc[n]["rate_error"])]
        axes[2].hist(np.clip(err, -50, 50), bins=np.linspace(-50, 50, 41), alpha=0.5,
                     color=f"C{j}")
        ks = pc[n]["ks"][np.isfinite(pc[n]["ks"])]
        axes[3].hist(ks, bins=np.linspace(0, max(0.3, ks.max(initial=0)), 31), alpha=0.5,
                     color=f"C{j}")
    axes[0].plot([0, top], [0, top], "k:", lw=0.8)
    axes[0].set(xlabel=f"rate, {ref} (Hz)", ylabel="rate, tested (Hz)")
    axes[0].legend(fontsize=7)
    axes[1].plot([0, 2], [0, 2], "k:", lw=0.8)
    axes[1].set(xlabel=f"CV ISI, {ref}", ylabel="CV ISI, tested")
    axes[2].set(xlabel="per-cell rate error (%, clipped at ±50)", ylabel="cells")
    axes[3].set(xlabel="per-cell KS statistic (ISI)", ylabel="cells")
    fig.tight_layout()
    fig.savefig(os.path.join(output, f"{ct}_statistics.png"), dpi=110)
    plt.close(fig)

    # three example cells: PSTH and ISI distribution; Vm of trial 0
    rate = pc["ann"]["rate_ref"]
    order = np.argsort(rate)
    active = order[rate[order] > 2.0]
    examples = (list(active[[len(active) // 4, len(active) // 2, -1]]) if len(active) >= 3
                else list(order[-3:]))
    fig, axes = plt.subplots(len(examples), 3, figsize=(17, 2.6 * len(examples)),
                             squeeze=False)
    sources = [("reference", ref, "k")] + [(n, _label(n, ref), f"C{j}")
                                           for j, n in enumerate(names)]
    for row, c in zip(axes, examples):
        sl = slice(c * trials, (c + 1) * trials)
        t_max = min(duration, 1000.0)
        for name, label, color in sources:
            trains = runs[name]["spikes"][sl]
            psth = _psth(trains, duration)
            t = (np.arange(len(psth)) + 0.5) * PSTH_BIN
            keep = t <= t_max
            row[0].plot(t[keep], psth[keep], color=color, lw=0.8, label=label)
            isis = _isis(trains)
            if len(isis):
                row[1].hist(isis, bins=np.linspace(0, np.percentile(isis, 99), 40),
                            histtype="step", color=color, density=True)
            k = int(round(min(300.0, duration) / dt)) + 1
            row[2].plot(np.arange(k) * dt, runs[name]["v"][sl.start, :k], color=color,
                        lw=0.7)
        row[0].set_ylabel(f"cell {c}\nPSTH (Hz)")
        row[1].set_ylabel("ISI density")
        row[2].set_ylabel("Vm, trial 0 (mV)")
    axes[0, 0].legend(fontsize=7)
    axes[-1, 0].set_xlabel("time (ms)")
    axes[-1, 1].set_xlabel("ISI (ms)")
    axes[-1, 2].set_xlabel("time (ms)")
    fig.tight_layout()
    fig.savefig(os.path.join(output, f"{ct}_examples.png"), dpi=110)
    plt.close(fig)


def write_report(m, raw, output, command):
    ct = m["celltype"]
    p = m["protocol"]
    ref = m["reference"]["label"]
    from .report import describe_reference
    lines = ["# pyNN.ann statistical validation: " + ct, "", "Produced by:", "",
             f"    {command}", "",
             f"{p['cells']} held-out random cells (protocol seed {p['seed']}: parameters, "
             f"initial v and input spike trains drawn from the type's spec), each in "
             f"{p['trials']} trials with identical inputs, {p['duration_ms']:g} ms, dt "
             f"{p['dt']} ms. Reference: {describe_reference(ref)}, seed "
             f"{m['reference']['seed']}; baseline: the same with seed "
             f"{m['reference']['baseline_seed']} (how far two runs of the reference lie "
             "apart with this many trials). Per cell, trials pooled: rate error relative "
             f"to the reference (cells with at least {MIN_SPIKES} reference spikes), CV of "
             "the ISIs, Kolmogorov-Smirnov statistic between the ISI distributions, "
             f"correlation of the trial-averaged PSTHs ({PSTH_BIN:g} ms bins); KL "
             "divergences of the distributions of per-cell rate and CV; Vm RMSE over the "
             "samples before the first spike of each pair of trials (identical inputs, no "
             "spike yet: deterministic), and the difference of the mean subthreshold Vm "
             "(±2 ms around spikes masked). pyNN.ann matches the reference where its "
             "numbers are no worse than the baseline's.", "", summary_table(m), ""]
    rows = []
    for name, agg in m["results"].items():
        rows.append([_label(name, ref), f"{agg['rate_test_hz']:.2f} / {agg['rate_ref_hz']:.2f}",
                     f"{agg['rate_error_median_pct']:+.1f} %",
                     f"{agg['rate_error_abs_mean_pct']:.1f} %",
                     f"{agg['rate_error_within_10pct']:.2f}",
                     f"{agg['cv_test_mean']:.3f} / {agg['cv_ref_mean']:.3f}",
                     f"{agg['ks_mean']:.3f}", str(agg["cells_compared"]),
                     f"{m['wall_s'].get(name, float('nan')):.1f} s"
                     + (" (cached)" if name in m.get("cached", ()) else "")])
    from .report import markdown_table
    lines += [markdown_table(["tested", "mean rate tested / reference (Hz)",
                              "median per-cell rate error", "mean abs per-cell rate error",
                              "cells within ±10 %", "mean CV tested / reference",
                              "mean KS", "cells compared", "wall time (incl. start-up)"],
                             rows), "",
              f"Reference run: {m['wall_s'].get('reference', float('nan')):.1f} s"
              + (" (cached)" if "reference" in m.get("cached", ()) else "") + ". Wall "
              "times on the machine's 2 cores, including process start-up; a cached run "
              "shows the time of the run that filled the cache. The reference runs in "
              "two processes.", ""]
    if raw is not None:
        _figures(m, raw, output)
    for f, what in ((f"{ct}_statistics.png", "per-cell rate, CV, rate error and KS"),
                    (f"{ct}_examples.png", "PSTH, ISI distribution and Vm of three cells")):
        if os.path.exists(os.path.join(output, f)):
            lines += [f"![{what}]({f})", ""]
    with open(os.path.join(output, "report.md"), "w") as fh:
        fh.write("\n".join(lines))


def main(argv=None):
    p = argparse.ArgumentParser(prog="pynn-ann validate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("celltypes", nargs="+", help=f"stochastic cell types ({', '.join(CELLTYPES)})")
    p.add_argument("--cells", type=int, default=40, help="distinct held-out cells")
    p.add_argument("--trials", type=int, default=20, help="trials per cell, identical inputs")
    p.add_argument("--duration", type=float, default=5000.0, help="ms per trial")
    p.add_argument("--dt", type=float, default=0.1, help="ms")
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="protocol seed")
    p.add_argument("--compare-with", default="", help="more simulators, e.g. nest-dt0.01")
    p.add_argument("--store", action="store_true",
                   help="store the pyNN.ann metrics in the shipped model's metadata")
    p.add_argument("--output", default="validation_report")
    p.add_argument("--cache", default=None, help="reference cache (default OUTPUT/cache)")
    p.add_argument("--workers", type=int, default=2, help="reference processes")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    args = p.parse_args(argv)
    for ct in args.celltypes:
        if ct not in CELLTYPES:
            p.error(f"{ct!r} is not a stochastic type ({', '.join(CELLTYPES)}); validate "
                    "deterministic types in a separate `pynn-ann validate` call")
    command = "pynn-ann validate " + " ".join(sys.argv[1:] if argv is None else argv)
    os.makedirs(args.output, exist_ok=True)
    results = {}
    for ct in args.celltypes:
        m, raw = validate_celltype(
            ct, cells=args.cells, trials=args.trials, duration=args.duration, dt=args.dt,
            seed=args.seed, compare_with=[s for s in args.compare_with.split(",") if s],
            cache_dir=args.cache or os.path.join(args.output, "cache"), workers=args.workers)
        m["command"] = command
        results[ct] = m
        write_report(m, None if args.no_plots else raw, args.output, command)
        print(summary_table(m))
        if args.store:
            from ..surrogates import registry
            registry.store_accuracy(m["model"], f"{ct} (standard)", to_json(
                {k: m[k] for k in ("protocol", "reference", "command")}
                | {"statistics": m["results"]}), dt=args.dt)
    with open(os.path.join(args.output, "metrics.json"), "w") as f:
        json.dump(to_json(results), f, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(to_json(results), f, indent=1)
    print(f"\nreport: {os.path.join(args.output, 'report.md')}")
    return results


if __name__ == "__main__":
    main()
