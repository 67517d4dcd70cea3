"""Synapse tables: all projections' synapses in one presynaptic-sorted (CSR) layout.

The loop looks up only the synapses of the neurons that spiked in a step, so the
cost of transmission grows with the number of spikes x fan-out, not with the total
number of synapses.
"""

import numpy as np


def _indices(values):
    """Integer array, int32 unless the values need 64 bits (halves the memory of large
    networks)."""
    values = np.asarray(values)
    if values.size and (values.max() >= 2 ** 31 or values.min() < -2 ** 31):
        return values.astype(np.int64, copy=False)
    return values.astype(np.int32, copy=False)


class SynapseTable:
    """Synapses of every projection, stored per projection on the host."""

    def __init__(self):
        self.projections = []  # dicts: pre, target, weight, delay (steps)

    def add(self, pre, target, weight, delay_steps):
        """Add one projection's synapses (global pre index, flat target index)."""
        self.projections.append({
            "pre": _indices(pre), "target": _indices(target),
            "weight": np.array(weight, np.float64),
            "delay": _indices(delay_steps).copy()})
        return len(self.projections) - 1

    @property
    def max_delay(self):
        return max((int(p["delay"].max()) for p in self.projections if len(p["delay"])),
                   default=1)

    def compile(self, n_pre):
        """CSR arrays over all projections: row pointer by presynaptic neuron, and
        per-synapse target, weight and delay (steps); ``order`` maps each CSR
        position to its position in the projections' concatenation."""
        if not self.projections:
            empty = np.zeros(0, np.int64)
            return {"row_ptr": np.zeros(n_pre + 1, np.int64), "target": empty,
                    "weight": np.zeros(0, np.float32), "delay": empty, "order": empty}
        pre = np.concatenate([p["pre"] for p in self.projections])
        order = np.argsort(pre, kind="stable")
        row_ptr = np.zeros(n_pre + 1, np.int64)
        np.cumsum(np.bincount(pre, minlength=n_pre), out=row_ptr[1:])
        target = np.concatenate([p["target"] for p in self.projections])[order]
        weight = np.concatenate([p["weight"] for p in self.projections])[order].astype(np.float32)
        delay = np.concatenate([p["delay"] for p in self.projections])[order]
        return {"row_ptr": row_ptr, "target": target, "weight": weight, "delay": delay,
                "order": order}
