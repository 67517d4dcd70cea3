"""Accuracy metrics comparing a tested simulation with a reference (BRIEF §5).

Pure NumPy (plus Elephant for standard spike-train statistics); no simulator.
Spike trains are 1-D arrays of times in ms; membrane potentials are
cells x samples arrays on the ``dt`` grid including t = 0.

Conventions
-----------
* Matching is one-to-one: each reference spike pairs with at most one tested spike
  and vice versa, within ±``delta`` (default 2 ms). The two-pointer sweep over both
  sorted trains gives a maximum matching for this window criterion.
* Coincidence factor Γ (Kistler et al. 1997; Jolivet et al. 2008), reference = "data",
  tested = "model"::

      Γ = (N_coinc − 2 ν Δ N_ref) / (½ (N_ref + N_test)) / (1 − 2 ν Δ),  ν = N_test / T

  Γ = 1 for identical trains, ≈ 0 for independent Poisson trains. Per cell, Γ is NaN
  when both trains are empty (nothing to compare) and when 2 ν Δ ≥ 1 (rate too high
  for the normalisation). Γ = 0 when exactly one train is empty.
* Aggregate Γ (``gamma``) pools counts over cells:
  Σ (N_coinc − ⟨N_coinc⟩) / Σ ½ (N_ref + N_test)(1 − 2 ν Δ); it equals the mean of
  per-cell Γ weighted by their normaliser, so silent-in-both cells drop out and
  busy cells count more. ``gamma_mean`` is the plain mean over cells with a defined Γ.
* Precision = matched / N_test, recall = matched / N_ref; aggregates pool counts
  (NaN when the denominator is zero).
* Vm RMSE masks every sample within ±``mask`` ms of a spike of either train.
* Rate error (%) = 100 (rate_test − rate_ref) / rate_ref; aggregate over the pooled
  population, per cell NaN where the reference cell is silent.
"""

import contextlib
import logging

import numpy as np

DELTA = 2.0  # ms, coincidence window


def _sorted(train):
    return np.sort(np.asarray(train, dtype=float).ravel())


def match_spikes(ref, test, delta=DELTA):
    """One-to-one matching of two spike trains within ±delta.

    Returns (ref_index, test_index) arrays of matched pairs, in time order.
    """
    ref, test = _sorted(ref), _sorted(test)
    i = j = 0
    pairs = []
    while i < len(ref) and j < len(test):
        d = test[j] - ref[i]
        if abs(d) <= delta + 1e-9:
            pairs.append((i, j))
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    if not pairs:
        return np.zeros(0, int), np.zeros(0, int)
    a = np.array(pairs)
    return a[:, 0], a[:, 1]


def _gamma_terms(n_ref, n_test, n_coinc, duration, delta):
    """(numerator, denominator) of Γ; Γ = num / den."""
    nu = n_test / duration  # per ms
    norm = 1.0 - 2.0 * nu * delta
    num = n_coinc - 2.0 * nu * delta * n_ref
    den = 0.5 * (n_ref + n_test) * norm
    return num, den, norm


def coincidence_factor(ref, test, duration, delta=DELTA):
    """Γ of ``test`` (model) against ``ref`` (data), both spike trains in ms."""
    n_coinc = len(match_spikes(ref, test, delta)[0])
    num, den, norm = _gamma_terms(len(ref), len(test), n_coinc, duration, delta)
    if len(ref) + len(test) == 0 or norm <= 0:
        return float("nan")
    return float(num / den)


def precision_recall(ref, test, delta=DELTA):
    """(precision, recall) of ``test`` spikes against ``ref`` within ±delta."""
    n = len(match_spikes(ref, test, delta)[0])
    p = n / len(test) if len(test) else float("nan")
    r = n / len(ref) if len(ref) else float("nan")
    return p, r


def spike_mask(n_samples, dt, trains, mask=DELTA):
    """Boolean array (n_samples,), True where a sample lies within ±mask of a spike."""
    out = np.zeros(n_samples, bool)
    w = int(np.floor(mask / dt + 1e-9))
    for train in trains:
        k = np.round(np.asarray(train, float) / dt).astype(np.int64)
        for s in range(-w, w + 1):
            kk = k + s
            out[kk[(kk >= 0) & (kk < n_samples)]] = True
    return out


def vm_rmse(v_ref, v_test, dt, spikes_ref=(), spikes_test=(), mask=DELTA):
    """Per-cell subthreshold RMSE (mV) and (sum of squares, n samples) for pooling.

    ``v_ref``/``v_test``: cells x samples; spike lists: one train per cell.
    """
    v_ref, v_test = np.atleast_2d(v_ref), np.atleast_2d(v_test)
    n = min(v_ref.shape[1], v_test.shape[1])
    ss = np.zeros(len(v_ref))
    cnt = np.zeros(len(v_ref), int)
    for c in range(len(v_ref)):
        trains = [spikes_ref[c] if len(spikes_ref) else [],
                  spikes_test[c] if len(spikes_test) else []]
        keep = ~spike_mask(n, dt, trains, mask)
        d = v_test[c, :n][keep] - v_ref[c, :n][keep]
        ss[c], cnt[c] = float(np.sum(d * d)), int(keep.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        per_cell = np.sqrt(ss / cnt)
    return per_cell, ss, cnt


def firing_rates(spikes, duration):
    """Mean rate (Hz) of each train over [0, duration] ms (Elephant; 0 when empty)."""
    from elephant.statistics import mean_firing_rate
    return np.array([float(mean_firing_rate(np.asarray(s, float), t_start=0.0,
                                            t_stop=duration)) * 1000.0 if len(s) else 0.0
                     for s in spikes])


def _nanmean(x):
    x = np.asarray(x, float)
    return float(np.nanmean(x)) if np.any(np.isfinite(x)) else float("nan")


def _ratio(a, b):
    return float(a / b) if b else float("nan")


def _window(train, t_start, t_stop):
    train = _sorted(train)
    return train[(train >= t_start) & (train <= t_stop)] - t_start


def compare(ref, test, dt, duration, delta=DELTA, t_start=0.0):
    """Compare two result dicts ({"v": cells x samples, "spikes": [...]}).

    ``t_start``/``duration`` select the window [t_start, t_start + duration] ms
    (the ``v`` arrays always start at t = 0). Returns {"aggregate": {...},
    "per_cell": {name: array}}.
    """
    t_stop = t_start + duration
    sr = [_window(s, t_start, t_stop) for s in ref["spikes"]]
    st = [_window(s, t_start, t_stop) for s in test["spikes"]]
    n_cells = len(sr)
    n_ref = np.array([len(s) for s in sr])
    n_test = np.array([len(s) for s in st])
    matches = [match_spikes(a, b, delta) for a, b in zip(sr, st)]
    n_coinc = np.array([len(m[0]) for m in matches])
    shifts = np.concatenate([_sorted(b)[m[1]] - _sorted(a)[m[0]]
                             for a, b, m in zip(sr, st, matches)] or [np.zeros(0)])
    num, den, norm = _gamma_terms(n_ref, n_test, n_coinc, duration, delta)
    ok = ((n_ref + n_test) > 0) & (norm > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        gamma = np.where(ok, num / np.where(den == 0, 1, den), np.nan)
        precision = np.where(n_test > 0, n_coinc / n_test, np.nan)
        recall = np.where(n_ref > 0, n_coinc / n_ref, np.nan)
        rate_err = np.where(n_ref > 0, 100.0 * (n_test - n_ref) / n_ref, np.nan)
    per_cell = {"gamma": gamma, "precision": precision, "recall": recall,
                "rate_error": rate_err, "n_ref": n_ref, "n_test": n_test,
                "n_coinc": n_coinc,
                "rate_ref": n_ref / duration * 1000.0, "rate_test": n_test / duration * 1000.0}
    agg = {
        "n_cells": int(n_cells), "duration_ms": float(duration), "delta_ms": float(delta),
        "gamma": _ratio(num[ok].sum(), den[ok].sum()),
        "gamma_mean": _nanmean(gamma),
        "gamma_excluded_cells": int(np.sum(~ok)),
        "precision": _ratio(n_coinc.sum(), n_test.sum()),
        "recall": _ratio(n_coinc.sum(), n_ref.sum()),
        "rate_ref_hz": float(n_ref.sum() / n_cells / duration * 1000.0) if n_cells else float("nan"),
        "rate_test_hz": float(n_test.sum() / n_cells / duration * 1000.0) if n_cells else float("nan"),
        "rate_error_pct": 100.0 * (_ratio(n_test.sum(), n_ref.sum()) - 1.0),
        "rate_error_abs_mean_pct": _nanmean(np.abs(rate_err)),
        "timing_shift_ms": float(np.mean(shifts)) if len(shifts) else float("nan"),
        "timing_shift_sd_ms": float(np.std(shifts)) if len(shifts) else float("nan"),
    }
    if ref.get("v") is not None and test.get("v") is not None:
        k0 = int(round(t_start / dt))
        k1 = int(round(t_stop / dt)) + 1
        rm, ss, cnt = vm_rmse(np.atleast_2d(ref["v"])[:, k0:k1], np.atleast_2d(test["v"])[:, k0:k1],
                              dt, sr, st, delta)
        per_cell["vm_rmse"] = rm
        agg["vm_rmse_mv"] = float(np.sqrt(ss.sum() / cnt.sum())) if cnt.sum() else float("nan")
        agg["vm_masked_fraction"] = float(1 - cnt.sum() / (len(rm) * max(k1 - k0, 1)))
    return {"aggregate": agg, "per_cell": per_cell}


def compare_windows(ref, test, dt, duration, window=1000.0, delta=DELTA):
    """Aggregate metrics in consecutive windows of ``window`` ms (for drift plots)."""
    starts = np.arange(0.0, duration - window + 1e-9, window)
    return [dict(compare(ref, test, dt, window, delta, t_start=t)["aggregate"], t_start_ms=float(t))
            for t in starts]


# --- network statistics (BRIEF §5, networks) --------------------------------------

@contextlib.contextmanager
def _quiet_logger(package):
    """Silence the warnings of the loggers of ``package`` (Elephant names its loggers
    by file path) for the duration of the block."""
    loggers = [lg for name, lg in logging.Logger.manager.loggerDict.items()
               if package in name and isinstance(lg, logging.Logger)]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def population_statistics(spikes, duration, bin_size=2.0, max_pairs=2000, seed=0):
    """Per-neuron rate (Hz), CV of ISI, and pairwise spike-count correlations (Elephant).

    CV is NaN for cells with fewer than 3 spikes. Correlations use ``bin_size`` ms bins
    over at most ``max_pairs`` random pairs of active cells.
    """
    import neo
    import quantities as pq
    from elephant.statistics import cv, isi
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient
    rates = firing_rates(spikes, duration)
    cvs = np.array([cv(isi(np.sort(s))) if len(s) >= 3 else np.nan for s in spikes])
    active = [i for i, s in enumerate(spikes) if len(s) > 0]
    corr = np.zeros(0)
    if len(active) >= 2:
        rng = np.random.default_rng(seed)
        n_sel = min(len(active), int(np.ceil(np.sqrt(2 * max_pairs))) + 1)
        sel = rng.choice(active, n_sel, replace=False)
        trains = [neo.SpikeTrain(np.asarray(spikes[i], float) * pq.ms, t_start=0 * pq.ms,
                                 t_stop=duration * pq.ms) for i in sel]
        # off-grid spike times within float error of a bin edge: Elephant moves them to
        # the next bin and logs a warning each time; the move is right, the noise is not
        with _quiet_logger("elephant"):
            binned = BinnedSpikeTrain(trains, bin_size=bin_size * pq.ms)
        cc = correlation_coefficient(binned)
        corr = cc[np.triu_indices(len(sel), 1)][:max_pairs]
    return {"rate": rates, "cv": cvs, "correlation": corr}


def kl_divergence(p_samples, q_samples, bins=50, eps=1e-10):
    """KL(P || Q) between histograms of two samples over a shared binning (nats)."""
    p_samples = np.asarray(p_samples, float)
    q_samples = np.asarray(q_samples, float)
    p_samples, q_samples = p_samples[np.isfinite(p_samples)], q_samples[np.isfinite(q_samples)]
    if not len(p_samples) or not len(q_samples):
        return float("nan")
    edges = np.histogram_bin_edges(np.concatenate([p_samples, q_samples]), bins=bins)
    p = np.histogram(p_samples, edges)[0] + eps
    q = np.histogram(q_samples, edges)[0] + eps
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))
