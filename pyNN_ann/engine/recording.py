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
    """Spike times of the recorded cells of a group."""

    def __init__(self, index):
        self.index = np.asarray(index, np.int64)
        self.steps = []  # arrays of (step, position-in-index) pairs

    def append(self, step_of_first, spike_matrix):
        rows, cols = np.nonzero(spike_matrix)
        if len(rows):
            self.steps.append(np.stack([rows + step_of_first, cols], axis=1))

    def times(self, dt):
        """{cell index: sorted spike times (ms)}."""
        pairs = (np.concatenate(self.steps) if self.steps else np.zeros((0, 2), np.int64))
        pairs = pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]
        bounds = np.searchsorted(pairs[:, 1], np.arange(len(self.index) + 1))
        return {int(idx): pairs[bounds[pos]:bounds[pos + 1], 0] * dt
                for pos, idx in enumerate(self.index)}

    def clear(self):
        self.steps = []
