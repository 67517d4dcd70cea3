"""Synapse tables: all projections' synapses in one presynaptic-sorted (CSR) layout.

The loop looks up only the synapses of the neurons that spiked in a step, so the
cost of transmission grows with the number of spikes x fan-out, not with the total
number of synapses.
"""

import numpy as np


class SynapseTable:
    """Synapses of every projection, stored per projection on the host."""

    def __init__(self):
        self.projections = []  # dicts: pre, target, weight, delay (steps)

    def add(self, pre, target, weight, delay_steps):
        """Add one projection's synapses (global pre index, flat target index)."""
        self.projections.append({
            "pre": np.asarray(pre, np.int64), "target": np.asarray(target, np.int64),
            "weight": np.array(weight, np.float64),
            "delay": np.asarray(delay_steps, np.int64).copy()})
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
