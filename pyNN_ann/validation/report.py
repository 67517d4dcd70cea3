"""Markdown tables and figures for validation and benchmark reports."""

import os

import numpy as np

COLUMNS = [("gamma", "Γ (2 ms)", "{:.3f}"), ("gamma_mean", "mean Γ", "{:.3f}"),
           ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}"),
           ("vm_rmse_mv", "Vm RMSE (mV)", "{:.2f}"), ("rate_error_pct", "rate err (%)", "{:+.1f}"),
           ("rate_error_abs_mean_pct", "mean abs rate err (%)", "{:.1f}"),
           ("timing_shift_ms", "shift (ms)", "{:+.2f}"), ("rate_ref_hz", "ref rate (Hz)", "{:.1f}"),
           ("rate_test_hz", "rate (Hz)", "{:.1f}")]


def _fmt(value, fmt):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return fmt.format(value)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_table(all_metrics):
    """One markdown row per (cell type, simulator, run length)."""
    header = ["cell type", "simulator", "run"] + [c[1] for c in COLUMNS]
    rows = []
    for ct, m in all_metrics.items():
        for label, res in m["results"].items():
            if res.get("error"):
                err = res["error"].replace("|", "/").replace("\n", " ")[:100]
                rows.append([ct, label, "failed", err] + [""] * (len(COLUMNS) - 1))
                continue
            for run in ("short", "long"):
                if run in res:
                    dur = res[run]["duration_ms"] / 1000.0
                    rows.append([ct, label, f"{res[run]['n_cells']} × {dur:g} s"]
                                + [_fmt(res[run].get(k), f) for k, _, f in COLUMNS])
            if "drift" in res:
                d_long = res["long"]["duration_ms"] / 1000.0
                d_short = res["short"]["duration_ms"] / 1000.0
                rows.append([ct, label, f"drift ({d_long:g} s − {d_short:g} s, same cells)"]
                            + [_fmt(res["drift"].get(k), "{:+.3f}") if k in res["drift"] else ""
                               for k, _, f in COLUMNS])
    return markdown_table(header, rows)


# --- figures ---------------------------------------------------------------------

def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_traces(ref, tests, dt, path, cells=(0, 1, 2), t_start=0.0, t_max=300.0,
                ref_label="reference (CVODE)"):
    """Vm of a few cells in [t_start, t_max] ms, reference vs each tested simulator."""
    plt = _plt()
    cells = [c for c in cells if c < len(ref["v"])]
    fig, axes = plt.subplots(len(cells), 1, figsize=(10, 2.2 * len(cells)), sharex=True,
                             squeeze=False)
    k0, k1 = int(round(t_start / dt)), int(round(t_max / dt)) + 1
    t = np.arange(k0, k1) * dt
    for ax, c in zip(axes[:, 0], cells):
        ax.plot(t, ref["v"][c, k0:k1], "k", lw=0.8, label=ref_label)
        for label, res in tests.items():
            ax.plot(t, res["v"][c, k0:k1], lw=0.7, alpha=0.8, label=label)
        ax.set_ylabel(f"cell {c}\nVm (mV)")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time (ms)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_raster(ref, tests, path, n_cells=30, t_max=1000.0):
    """Spike raster: reference (black) and tested simulators (offset colours)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 0.18 * min(n_cells, len(ref["spikes"])) + 1.5))
    k = len(tests) + 1
    for c, s in enumerate(ref["spikes"][:n_cells]):
        s = np.asarray(s)
        ax.plot(s[s <= t_max], np.full(np.sum(s <= t_max), c * k), "k|", ms=4)
        for j, (label, res) in enumerate(tests.items()):
            s2 = np.asarray(res["spikes"][c])
            ax.plot(s2[s2 <= t_max], np.full(np.sum(s2 <= t_max), c * k + j + 1), "|",
                    color=f"C{j}", ms=4, label=label if c == 0 else None)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("cell (reference = black)")
    ax.set_yticks([])
    if tests:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_histograms(per_cell, path):
    """Histograms of per-cell Γ and rate error for each tested simulator."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
    for j, (label, pc) in enumerate(per_cell.items()):
        g = pc["gamma"][np.isfinite(pc["gamma"])]
        r = pc["rate_error"][np.isfinite(pc["rate_error"])]
        a1.hist(g, bins=np.linspace(-0.2, 1.0, 25), alpha=0.5, color=f"C{j}", label=label)
        a2.hist(np.clip(r, -100, 100), bins=np.linspace(-100, 100, 41), alpha=0.5,
                color=f"C{j}", label=label)
    a1.set_xlabel("per-cell Γ (2 ms)")
    a2.set_xlabel("per-cell rate error (%, clipped at ±100)")
    a1.set_ylabel("cells")
    a1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_drift(windows, path):
    """Γ and Vm RMSE in consecutive windows of the long run."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
    for j, (label, ws) in enumerate(windows.items()):
        t = [w["t_start_ms"] / 1000.0 for w in ws]
        a1.plot(t, [w["gamma"] for w in ws], "o-", color=f"C{j}", label=label)
        a2.plot(t, [w.get("vm_rmse_mv", np.nan) for w in ws], "o-", color=f"C{j}", label=label)
    a1.set_ylabel("Γ (2 ms)")
    a2.set_ylabel("Vm RMSE (mV)")
    for a in (a1, a2):
        a.set_xlabel("window start (s)")
    a1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


REFERENCES = {"neuron-cvode": "pyNN.neuron with CVODE (rtol = atol = 1e-6), v recorded at "
                                "the dt grid times (by NEURON; resampled from CVODE's steps "
                                "for types with voltage jumps), alpha synapses with "
                                "50 000-spike queues (pyNN.neuron's 1000 drop input spikes)"}


def describe_reference(label):
    """Words for a reference label (``neuron-cvode``, ``nest-dt0.01``, ...)."""
    if label in REFERENCES:
        return REFERENCES[label]
    backend, _, step = label.partition("-dt")
    return f"pyNN.{backend} at a fixed dt of {step} ms" if step else f"pyNN.{backend}"


def _references(all_metrics):
    """'X (types); Y (types)' for the references of ``all_metrics``."""
    by_label = {}
    for ct, m in all_metrics.items():
        by_label.setdefault(m["reference"].get("label", "neuron-cvode"), []).append(ct)
    if len(by_label) == 1:
        return describe_reference(next(iter(by_label)))
    return "; ".join(f"{describe_reference(label)} ({', '.join(cts)})"
                     for label, cts in by_label.items())


def _commands(all_metrics, command):
    found = [m["command"] for m in all_metrics.values() if m.get("command")]
    return list(dict.fromkeys(found)) or ([command] if command else [])


def write_validation_report(all_metrics, all_raw, output, command=None):
    """report.md (+ PNGs when ``all_raw`` is given) in ``output``.

    Cell types without raw data (kept from an earlier run) link the figures already
    in ``output``."""
    lines = ["# pyNN.ann single-cell validation", ""]
    commands = _commands(all_metrics, command)
    if commands:
        lines += ["Produced by:", ""] + [f"    {c}" for c in commands] + [""]
    lines += [f"Reference: {_references(all_metrics)}. "
              "Held-out random synaptic-input protocols (seeds never used in training). "
              "Γ: coincidence factor, Δ = 2 ms, pooled over cells; precision/recall within "
              "±2 ms, one-to-one; Vm RMSE with ±2 ms around every spike masked; rate error "
              "over the pooled population. Drift: 10 s metrics minus 1 s metrics on the "
              "same cells.", "", summary_table(all_metrics), ""]
    for ct, m in all_metrics.items():
        pr = m["protocol"]
        lines += [f"## {ct}", "",
                  f"Protocol seed {pr['seed']}, {pr['cells']} cells × {pr['duration_ms']:g} ms, "
                  f"{pr['long_cells']} cells × {pr['long_duration_ms']:g} ms, dt {pr['dt']} ms. "
                  f"Reference: {describe_reference(m['reference'].get('label', 'neuron-cvode'))}.",
                  ""]
        for label, res in m["results"].items():
            if res.get("error"):
                lines += [f"* **{label} failed**: `{res['error'][:500]}`"]
            else:
                walls = ", ".join(
                    f"{k[:-7]} " + ("cached" if res.get(k[:-7] + "_cached") else f"{v:.1f} s")
                    for k, v in res.items() if k.endswith("_wall_s"))
                lines += [f"* {label}: wall time incl. process start-up: {walls}"]
        lines.append("")
        raw = (all_raw or {}).get(ct)
        if raw and raw["tests"]:
            _draw_figures(ct, m, raw, output)
        lines += _figure_links(ct, output)
    with open(os.path.join(output, "report.md"), "w") as f:
        f.write("\n".join(lines))


def _draw_figures(ct, m, raw, output):
    dt = m["protocol"]["dt"]
    label = m["reference"].get("label", "neuron-cvode")
    ref_label = "reference (CVODE)" if label == "neuron-cvode" else f"reference ({label})"
    for run in ("short", "long"):
        if run not in raw["reference"]:
            continue
        tests = {l: r[run] for l, r in raw["tests"].items() if run in r}
        ref = raw["reference"][run]
        t_end = (ref["v"].shape[1] - 1) * dt
        t0 = max(0.0, t_end - 300.0) if run == "long" else 0.0  # long: the end
        plot_traces(ref, tests, dt, os.path.join(output, f"{ct}_{run}_traces.png"),
                    t_start=t0, t_max=min(t0 + 300.0, t_end), ref_label=ref_label)
        plot_raster(ref, tests, os.path.join(output, f"{ct}_{run}_raster.png"),
                    t_max=min(1000.0, t_end))
        per_cell = {l: pc[run] for l, pc in raw["per_cell"].items() if run in pc}
        plot_histograms(per_cell, os.path.join(output, f"{ct}_{run}_histograms.png"))
    windows = {l: r["long_windows"] for l, r in m["results"].items() if "long_windows" in r}
    if windows:
        plot_drift(windows, os.path.join(output, f"{ct}_drift.png"))


def _figure_links(ct, output):
    """Markdown for the figures of ``ct`` that exist in ``output``."""
    lines = []
    for run in ("short", "long"):
        f1, f2, f3 = (f"{ct}_{run}_{kind}.png" for kind in ("traces", "raster", "histograms"))
        if os.path.exists(os.path.join(output, f1)):
            lines += [f"### {run} run", "", f"![traces]({f1})", "", f"![raster]({f2})", "",
                      f"![per-cell Γ and rate error]({f3})", ""]
    if os.path.exists(os.path.join(output, f"{ct}_drift.png")):
        lines += ["### drift", "", f"![metrics per window of the long run]({ct}_drift.png)", ""]
    return lines


def plot_run_times(results, path, title=None):
    """Log-log plot of run time against N, one line per simulator (benchmark results)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    labels = list(dict.fromkeys(r["label"] for r in results))
    for j, label in enumerate(labels):
        ok = sorted((r["n"], r["run_s"]) for r in results
                    if r["label"] == label and not r.get("error"))
        if ok:
            n, t = zip(*ok)
            ax.plot(n, t, "o-", color=f"C{j}", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    sizes = sorted({r["n"] for r in results})
    ax.set_xticks(sizes, [str(n) for n in sizes], minor=False)
    ax.minorticks_off()
    ax.set_xlabel("N (cells)")
    ax.set_ylabel("run time (s)")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
