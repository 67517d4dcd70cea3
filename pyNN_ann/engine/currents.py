"""Injected-current waveforms (DC, AC, step, noise), evaluated on the host per chunk.

The current during step k -> k+1 is the waveform at t_k = k dt; it enters the
surrogate as part of its injected-current input. Noise is keyed by (seed, source,
update number), so it does not depend on how a simulation is split into runs.
"""

import numpy as np

KINDS = ("dc", "ac", "step", "noise")
_BLOCK = 1024
_EPS = 1e-9


def _active(t, p):
    return (t >= p["start"] - _EPS) & (t < p["stop"] - _EPS)


def _normals(seed, source, update):
    out = np.empty(len(update))
    blocks = update // _BLOCK
    for b in np.unique(blocks):
        values = np.random.default_rng([seed, source, int(b)]).standard_normal(_BLOCK)
        sel = blocks == b
        out[sel] = values[update[sel] % _BLOCK]
    return out


def waveform(kind, p, steps, dt, seed=0, source=0):
    """Current (nA) of one source at the times ``steps * dt`` (ms)."""
    t = np.asarray(steps) * dt
    if kind == "dc":
        return np.where(_active(t, p), p["amplitude"], 0.0)
    if kind == "ac":
        wave = p["offset"] + p["amplitude"] * np.sin(
            2 * np.pi * p["frequency"] * (t - p["start"]) / 1000.0 + np.deg2rad(p["phase"]))
        return np.where(_active(t, p), wave, 0.0)
    if kind == "step":
        times = np.asarray(p["times"], dtype=float)
        amplitudes = np.asarray(p["amplitudes"], dtype=float)
        j = np.searchsorted(times, t + _EPS, side="right") - 1
        return np.where(j >= 0, amplitudes[np.maximum(j, 0)] if len(amplitudes) else 0.0, 0.0)
    if kind == "noise":
        interval = p.get("dt") or dt
        update = np.maximum(np.floor((t - p["start"]) / interval + _EPS), 0).astype(np.int64)
        wave = p["mean"] + p["stdev"] * _normals(seed, source, update)
        return np.where(_active(t, p), wave, 0.0)
    raise ValueError(f"unknown current source kind {kind!r}; expected one of {KINDS}")


def check(kind, p):
    """Refuse inconsistent parameters with a message naming them."""
    if kind == "step":
        times, amps = np.asarray(p["times"], float), np.asarray(p["amplitudes"], float)
        if times.shape != amps.shape:
            raise ValueError(f"StepCurrentSource: {len(times)} times but {len(amps)} amplitudes")
        if np.any(np.diff(times) < 0):
            raise ValueError("StepCurrentSource: times must be increasing")
    if kind == "noise" and p["stdev"] < 0:
        raise ValueError(f"NoisyCurrentSource: stdev = {p['stdev']} must be >= 0")
