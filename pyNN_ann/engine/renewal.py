"""Renewal-process spike sources (gamma, Poisson with dead time), generated on the host.

Spike times are drawn per source in fixed batches of intervals from a generator keyed
by (seed, group, source), and emitted once the simulation reaches them, so the
result does not depend on how a simulation is split into ``run()`` calls. A
parameter change discards the drawn future and draws again from the current time.
"""

import numpy as np

KINDS = ("gamma", "poisson_refractory")
BATCH = 64


def check(kind, p):
    """Refuse parameters that define no process, naming them."""
    if kind == "gamma":
        if np.any(p["alpha"] <= 0) or np.any(p["beta"] < 0):
            raise ValueError("SpikeSourceGamma needs alpha > 0 and beta >= 0 Hz, got "
                             f"alpha = {np.min(p['alpha'])}, beta = {np.min(p['beta'])}")
    elif kind == "poisson_refractory":
        mean_isi = 1000.0 / np.where(p["rate"] > 0, p["rate"], np.inf)
        bad = (p["rate"] < 0) | ((p["rate"] > 0) & (mean_isi <= p["tau_refrac"]))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"SpikeSourcePoissonRefractory: rate {p['rate'][i]} Hz is not possible with "
                f"tau_refrac {p['tau_refrac'][i]} ms (needs 0 <= rate < 1000 / tau_refrac)")
    else:
        raise ValueError(f"unknown renewal source {kind!r}; expected one of {KINDS}")


class RenewalSources:
    """The drawn future of every source of one group."""

    def __init__(self, kind, size, seed, gid):
        self.kind, self.size, self.seed, self.gid = kind, size, seed, gid
        self.restart(0.0)

    def restart(self, t):
        """Forget drawn spikes after ``t`` and draw anew from ``t``."""
        self.rngs = [np.random.default_rng([self.seed, self.gid, i, int(t * 1000)])
                     for i in range(self.size)]
        self.origin = np.full(self.size, float(t))
        self.pending = [np.zeros(0) for _ in range(self.size)]

    def _intervals(self, i, p):
        rng = self.rngs[i]
        if self.kind == "gamma":
            if p["beta"][i] == 0:
                return np.full(BATCH, np.inf)
            return rng.gamma(p["alpha"][i], 1000.0 / p["beta"][i], BATCH)
        if p["rate"][i] == 0:
            return np.full(BATCH, np.inf)
        dead = p["tau_refrac"][i]
        return dead + rng.exponential(1000.0 / p["rate"][i] - dead, BATCH)

    def emit(self, p, t_end):
        """Spike times in [now, t_end) of each source, within [start, start+duration)."""
        out = []
        for i in range(self.size):
            while True:
                last = self.pending[i][-1] if len(self.pending[i]) else self.origin[i]
                if last >= t_end or not np.isfinite(last):
                    break
                start = max(last, p["start"][i]) if not len(self.pending[i]) else last
                new = start + np.cumsum(self._intervals(i, p))
                self.pending[i] = np.concatenate([self.pending[i], new])
                self.origin[i] = new[-1]
            due = self.pending[i] < t_end
            times = self.pending[i][due]
            self.pending[i] = self.pending[i][~due]
            stop = p["start"][i] + p["duration"][i]
            out.append(times[(times >= p["start"][i]) & (times < stop)])
        return out
