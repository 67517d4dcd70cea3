"""Single-cell validation against the converged reference (``pynn-ann validate``).

Held-out random input protocols (seeds never used in training) are run on the
converged reference (pyNN.neuron, CVODE rtol = atol = 1e-6) and on the tested
simulators, each in fresh processes; accuracy metrics (``metrics.compare``) are
computed over ``--duration`` (1 s) and over ``--long-duration`` (10 s, drift).
Reference (and anchor) results are cached on disk, keyed by protocol.

Tested simulators are named ``ann`` (pyNN.ann at ``--dt``) or
``<backend>-dt<step>`` (fixed step, e.g. ``neuron-dt0.1``, ``nest-dt0.1``) or
``neuron-cvode`` (the reference itself: a sanity check, Γ = 1) or
``neuron-cvode<tol>`` (CVODE at rtol = atol = tol, e.g. ``neuron-cvode1e-8``: how far
the reference itself moves when it is made more precise).

Stochastic types (GIF_cond_exp) are validated statistically, over repeated trials
against pyNN.nest: ``validation/stochastic.py`` (``pynn-ann validate GIF_cond_exp
--help``).
"""

import argparse
import json
import os
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..reference_simulators import CVODE_REVISION
from ..surrogates.training.protocols import random_protocol
from ..surrogates.training.reference import (CONVERGED_NEURON, load_result,
                                             run_in_subprocess, save_result)
from ..surrogates.training.specs import SPECS
from . import metrics

HELD_OUT_SEED = 900001  # training uses seed * 100003 + job; never reaches 9e5 + small
KEY_METRICS = ("gamma", "precision", "recall", "vm_rmse_mv", "rate_error_pct",
               "timing_shift_ms")


def parse_simulator(label, dt):
    """Label -> (pyNN backend, setup options, timestep, cacheable)."""
    if label == "ann":
        return "ann", {}, dt, False
    if label == "neuron-cvode":
        return "neuron", dict(CONVERGED_NEURON), None, True
    if label.startswith("neuron-cvode"):  # another tolerance, e.g. neuron-cvode1e-8
        tol = float(label[len("neuron-cvode"):])
        return "neuron", dict(CONVERGED_NEURON, rtol=tol, atol=tol), None, True
    backend, _, step = label.partition("-dt")
    if not step:
        raise ValueError(f"unknown simulator label {label!r} (ann, neuron-dt0.1, ...)")
    options = {"use_cvode": False} if backend == "neuron" else {}
    return backend, options, float(step), True


def _concat(parts):
    out = {"spikes": [s for p in parts for s in p["spikes"]]}
    for key in parts[0]:
        if key != "spikes":
            n = min(p[key].shape[1] for p in parts)
            out[key] = np.vstack([p[key][:, :n] for p in parts])
    return out


def run_protocol_chunked(protocol, simulator="neuron", options=None, timestep=None,
                         chunk=10, workers=None, desc=None):
    """``run_in_subprocess`` over chunks of ``chunk`` cells, ``workers`` at a time."""
    from tqdm.auto import tqdm
    workers = workers or os.cpu_count() or 1
    chunks = [np.arange(i, min(i + chunk, protocol.size)) for i in range(0, protocol.size, chunk)]

    def job(idx):
        return run_in_subprocess(protocol.subset(idx), simulator=simulator, options=options,
                                 timestep=timestep)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(tqdm(pool.map(job, chunks), total=len(chunks), desc=desc, unit="chunk",
                          leave=False))
    return _concat(parts)


def cached_run(protocol, label, dt, cache_dir, key, options=None, **kw):
    """Run ``protocol`` on simulator ``label``; cache on disk when deterministic.

    A result loaded from the cache carries ``"cached": True``."""
    backend, opts, timestep, cacheable = parse_simulator(label, dt)
    opts.update(options or {})
    revision = CVODE_REVISION if backend == "neuron" and opts.get("use_cvode") else ""
    path = os.path.join(cache_dir, f"{key}_{label}{revision}.npz") if cache_dir else None
    if cacheable and path and os.path.exists(path):
        result = load_result(path)
        result["cached"] = True
        return result
    result = run_protocol_chunked(protocol, backend, opts, timestep, desc=f"{label} {key}", **kw)
    if cacheable and path:
        os.makedirs(cache_dir, exist_ok=True)
        save_result(path, result)
    return result


def _drift(long, short):
    return {k: long.get(k, np.nan) - short.get(k, np.nan) for k in KEY_METRICS}


def validate_celltype(celltype, simulators=("ann",), cells=50, duration=1000.0,
                      long_duration=10000.0, long_cells=20, dt=0.1, seed=HELD_OUT_SEED,
                      cache_dir=None, ann_options=None, chunk=10, workers=None,
                      regime="standard"):
    """Validate ``simulators`` on ``celltype``; returns (metrics, raw data for plots).

    ``regime`` names the input statistics (see the cell type's training spec)."""
    spec = SPECS[celltype]
    short_p = random_protocol(spec, cells, duration, dt=dt, seed=seed, regime=regime)
    tag = "" if regime == "standard" else f"_{regime}"
    key = f"{celltype}{tag}_seed{seed}_n{cells}_T{duration:g}_dt{dt:g}"
    runs = {"short": (short_p, key)}
    if long_duration and long_cells:
        # same seed and size: the first long_cells cells share parameters, weights
        # and v_init with the short protocol (only the input spike trains differ)
        long_p = random_protocol(spec, cells, long_duration, dt=dt, seed=seed, regime=regime)
        long_p = long_p.subset(np.arange(min(long_cells, cells)))
        runs["long"] = (long_p, f"{celltype}{tag}_seed{seed}_n{long_p.size}of{cells}"
                                f"_T{long_duration:g}_dt{dt:g}")
    kw = dict(chunk=chunk, workers=workers)
    out = {"celltype": celltype,
           "reference": {"simulator": "neuron", "options": CONVERGED_NEURON},
           "protocol": {"seed": seed, "regime": regime, "cells": cells,
                        "duration_ms": duration, "dt": dt,
                        "long_cells": runs["long"][0].size if "long" in runs else 0,
                        "long_duration_ms": long_duration if "long" in runs else 0},
           "results": {}}
    raw = {"reference": {}, "tests": {}, "per_cell": {}}
    reference = getattr(spec, "reference", "neuron-cvode")
    backend, options, _, _ = parse_simulator(reference, dt)
    out["reference"] = {"simulator": backend, "label": reference, "options": options}
    for name, (protocol, k) in runs.items():
        raw["reference"][name] = cached_run(protocol, reference, dt, cache_dir, k, **kw)
        raw["reference"][name].pop("cached", None)
    for label in simulators:
        res = out["results"][label] = {}
        try:
            for name, (protocol, k) in runs.items():
                t0 = time.perf_counter()
                if label == "ann":  # one process, all cells in one batch
                    test = cached_run(protocol, label, dt, cache_dir, k, options=ann_options,
                                      chunk=protocol.size, workers=1)
                else:
                    test = cached_run(protocol, label, dt, cache_dir, k, **kw)
                res[f"{name}_wall_s"] = time.perf_counter() - t0
                res[f"{name}_cached"] = bool(test.pop("cached", False))
                ref = raw["reference"][name]
                cmp = metrics.compare(ref, test, dt, protocol.duration)
                res[name] = cmp["aggregate"]
                raw["tests"].setdefault(label, {})[name] = test
                raw["per_cell"].setdefault(label, {})[name] = cmp["per_cell"]
                if name == "long":
                    res["long_windows"] = metrics.compare_windows(ref, test, dt, protocol.duration,
                                                                  window=duration)
                    n = protocol.size
                    short_same = metrics.compare(
                        {k2: v[:n] for k2, v in raw["reference"]["short"].items()},
                        {k2: v[:n] for k2, v in raw["tests"][label]["short"].items()},
                        dt, duration)["aggregate"]
                    res["short_same_cells"] = short_same
                    res["drift"] = _drift(res["long"], short_same)
                    res["drift_last_vs_first_window"] = _drift(res["long_windows"][-1],
                                                               res["long_windows"][0])
            res["error"] = None
        except Exception as exc:  # a backend that is missing or fails: report, carry on
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            res["error"] = f"{type(exc).__name__}: {lines[-1] if lines else ''}"
            res["error_detail"] = str(exc)[-3000:]
            print(f"[validate] {label} failed on {celltype}:\n{traceback.format_exc()[-2000:]}",
                  file=sys.stderr)
    return out, raw


def validate(celltypes=None, simulators=("ann",), output=None, command=None,
             plots=True, merge=False, **kw):
    """Validate several cell types; writes report.md, PNGs and metrics.json to
    ``output`` when given (``merge``: keeping the other cell types already there).
    Returns {celltype: metrics} of the cell types validated now."""
    from . import report
    celltypes = list(celltypes or [ct for ct in SPECS  # stochastic: validation/stochastic.py
                                   if not getattr(SPECS[ct], "stochastic", False)])
    all_metrics, all_raw = {}, {}
    for ct in celltypes:
        all_metrics[ct], all_raw[ct] = validate_celltype(ct, simulators=simulators, **kw)
        all_metrics[ct]["command"] = command
    if output:
        os.makedirs(output, exist_ok=True)
        written = dict(_previous_metrics(output), **all_metrics) if merge else all_metrics
        with open(os.path.join(output, "metrics.json"), "w") as f:
            json.dump(to_json(written), f, indent=1)
        report.write_validation_report(written, all_raw if plots else None, output,
                                       command=command)
    return all_metrics


def _previous_metrics(output):
    """The metrics already in ``output``; entries written before commands were kept
    per cell type get the command at the top of the existing report."""
    path = os.path.join(output, "metrics.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        previous = json.load(f)
    command = None
    report_path = os.path.join(output, "report.md")
    if os.path.exists(report_path):
        with open(report_path) as f:
            lines = f.read().splitlines()
        if "Produced by:" in lines:
            command = lines[lines.index("Produced by:") + 2].strip() or None
    for m in previous.values():
        m.setdefault("command", command)
    return previous


def to_json(obj):
    """NaN -> None, NumPy scalars -> Python, recursively."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_json(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _option(text):
    from ..surrogates.training.reference import _parse_option
    return _parse_option(text)


def main(argv=None):
    from . import stochastic
    args = sys.argv[1:] if argv is None else list(argv)
    if any(a in stochastic.CELLTYPES for a in args):  # GIF: statistics over trials
        return stochastic.main(args)
    p = argparse.ArgumentParser(prog="pynn-ann validate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("celltypes", nargs="*", help=f"cell types (default: all of {sorted(SPECS)})")
    p.add_argument("--cells", type=int, default=50, help="held-out cells (1 s runs)")
    p.add_argument("--duration", type=float, default=1000.0, help="ms")
    p.add_argument("--long-duration", type=float, default=10000.0,
                   help="ms, drift check (0: skip)")
    p.add_argument("--long-cells", type=int, default=20, help="cells in the long runs")
    p.add_argument("--dt", type=float, default=0.1, help="ms, pyNN.ann time step and sampling")
    p.add_argument("--simulators", default="ann", help="tested, comma-separated (default ann)")
    p.add_argument("--compare-with", default="", help="anchors, e.g. neuron-dt0.1,nest-dt0.1")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra setup() option for pyNN.ann")
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    p.add_argument("--regime", default="standard",
                   help="input regime of the held-out protocols (see training specs)")
    p.add_argument("--store", action="store_true",
                   help="store the pyNN.ann metrics in the shipped model's metadata")
    p.add_argument("--output", default="validation_report")
    p.add_argument("--merge", action="store_true",
                   help="keep the other cell types already in OUTPUT (metrics.json, report)")
    p.add_argument("--cache", default=None, help="reference cache (default OUTPUT/cache)")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--chunk", type=int, default=10, help="cells per subprocess")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    args = p.parse_args(argv)
    for ct in args.celltypes:
        if ct not in SPECS:
            p.error(f"no validation spec for {ct!r}; known: {sorted(SPECS)}")
    sims = [s for s in (args.simulators + "," + args.compare_with).split(",") if s]
    command = "pynn-ann validate " + " ".join(sys.argv[1:] if argv is None else argv)
    result = validate(args.celltypes, simulators=sims, output=args.output, command=command,
                      plots=not args.no_plots, merge=args.merge, cells=args.cells,
                      duration=args.duration,
                      long_duration=args.long_duration, long_cells=args.long_cells,
                      dt=args.dt, seed=args.seed, regime=args.regime,
                      cache_dir=args.cache or os.path.join(args.output, "cache"),
                      ann_options=dict(_option(o) for o in args.option),
                      chunk=args.chunk, workers=args.workers)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(to_json(result), f, indent=1)
    if args.store:
        from ..surrogates import registry
        for ct, m in result.items():
            ann = m["results"].get("ann", {})
            if ann.get("error") is None and "short" in ann:
                model = getattr(SPECS[ct], "model", ct)  # a shared surrogate: per type
                key = args.regime if model == ct else f"{ct} ({args.regime})"
                registry.store_accuracy(model, key, to_json(
                    {"protocol": m["protocol"], "reference": m["reference"],
                     **{k: ann[k] for k in ("short", "long", "drift") if k in ann},
                     "command": command}), dt=args.dt)
    from .report import summary_table
    print(summary_table(result))
    print(f"\nreport: {os.path.join(args.output, 'report.md')}")
    return result


if __name__ == "__main__":
    main()
