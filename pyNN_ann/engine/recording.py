"""Host-side recording buffers: what the compiled loop hands back, chunk by chunk."""

import numpy as np


class SignalBuffer:
    """Samples of one variable for some cells of a group (appended per chunk)."""

    def __init__(self, index, sampling_steps, dt):
        self.index = np.asarray(index, np.int64)
        self.sampling_steps = int(sampling_steps)
        self.dt = dt
        self.chunks = []
        self.t_start = None  # time (ms) of the first sample held

    def append(self, step_of_first, samples):
        if self.t_start is None:
            self.t_start = step_of_first * self.dt
        if len(samples):
            self.chunks.append(np.asarray(samples))

    def data(self):
        if not self.chunks:
            return np.zeros((0, len(self.index)), np.float32)
        return np.concatenate(self.chunks, axis=0)

    def clear(self):
        """Drop held samples; the next sample starts a new block."""
        self.chunks = []
        self.t_start = None


class SpikeBuffer:
    """Spike times of the recorded cells of a group.

    The loop hands back, per step and cell, 0 (no spike) or 1 + s: a spike s steps
    before the step's grid time (s in [0, 1] for cells, the interpolated threshold
    crossing; always 0 with ``spike_precision="on_grid"``)."""

    def __init__(self, index):
        self.index = np.asarray(index, np.int64)
        self.steps = []  # arrays of (step, position-in-index) pairs
        self.shifts = []  # arrays of s, one per pair

    def append(self, step_of_first, spike_matrix):
        spike_matrix = np.asarray(spike_matrix)
        rows, cols = np.nonzero(spike_matrix)
        if len(rows):
            self.steps.append(np.stack([rows + step_of_first, cols], axis=1))
            self.shifts.append(spike_matrix[rows, cols].astype(np.float64) - 1.0)

    def add(self, steps, positions, shifts):
        """Spikes given one by one: grid step, position in ``index``, shift (steps)."""
        if len(steps):
            self.steps.append(np.stack([np.asarray(steps, np.int64),
                                        np.asarray(positions, np.int64)], axis=1))
            self.shifts.append(np.asarray(shifts, np.float64))

    def times(self, dt):
        """{cell index: sorted spike times (ms)}."""
        pairs = (np.concatenate(self.steps) if self.steps else np.zeros((0, 2), np.int64))
        shifts = np.concatenate(self.shifts) if self.shifts else np.zeros(0)
        exact = pairs[:, 0] - shifts  # in steps
        order = np.lexsort((exact, pairs[:, 1]))
        pairs, times = pairs[order], exact[order] * dt
        bounds = np.searchsorted(pairs[:, 1], np.arange(len(self.index) + 1))
        return {int(idx): times[bounds[pos]:bounds[pos + 1]]
                for pos, idx in enumerate(self.index)}

    def clear(self):
        self.steps, self.shifts = [], []


def resample(samples, t_start, step, interval):
    """Samples taken every ``step`` ms from ``t_start``, linearly interpolated at the
    multiples ``k * interval`` of another grid that lie within their span (the grid
    time nearest ``t_start`` takes the first sample). Returns ``(rows, k_first,
    k_last)``; no rows (and ``k_last < k_first``) if there are none."""
    samples = np.asarray(samples)
    n = len(samples)
    t_end = t_start + (n - 1) * step
    k0 = int(np.floor(t_start / interval + 0.5))
    k1 = int(np.floor(t_end / interval + 1e-6)) if n else k0 - 1
    if k1 < k0:
        return samples[:0], k0, k0 - 1
    pos = np.clip((np.arange(k0, k1 + 1) * interval - t_start) / step, 0.0, n - 1)
    nearest = np.round(pos)
    on_sample = np.abs(pos - nearest) < 1e-6  # taken as they are (exact, NaN-safe)
    pos = np.where(on_sample, nearest, pos)
    lower = np.minimum(np.floor(pos).astype(np.int64), n - 1)
    upper = np.minimum(lower + 1, n - 1)
    frac = (pos - lower).reshape((-1,) + (1,) * (samples.ndim - 1))
    mixed = samples[lower] * (1.0 - frac) + samples[upper] * frac
    exact = on_sample.reshape(frac.shape)
    rows = np.where(exact, samples[lower], mixed)
    return rows.astype(samples.dtype, copy=False), k0, k1
