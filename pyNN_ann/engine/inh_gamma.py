"""Inhomogeneous gamma spike sources (PyNN's SpikeSourceInhGamma), drawn on the host.

The process is the one of NEST's former ``inh_gamma_generator`` and NeuroTools'
``inh_gamma_generator`` (Muller et al. 2007, Neural Comput. 19: 2958): a renewal
process whose hazard is that of a gamma distribution with shape ``a[k]`` and scale
``b[k]`` (seconds), evaluated at the time since the last spike, where k is the bin
of ``tbins`` (ms) containing the current time:

* within a bin the intervals are gamma(a, b): rate 1 / (a b) Hz, CV 1 / sqrt(a);
* at a bin boundary only the hazard changes: the time since the last spike carries
  over (the process is not restarted);
* the process starts at ``tbins[0]`` as if a spike had occurred there (not emitted),
  is silent before it, and the last bin lasts for ever; ``b = inf`` is a silent bin;
* ``start`` and ``duration`` only gate emission: spikes outside
  [start, start + duration) are drawn but not sent; drawing ends at start + duration.

Instead of thinning a Poisson process (which needs a bounded hazard, i.e. a >= 1),
each interval is drawn exactly by inversion, conditioned on the age reached at the
start of the bin: x = b Q^-1(a, U Q(a, age / b)), Q the regularised upper
incomplete gamma function; if x falls beyond the bin, the process moves to the next
bin with its age. Where Q(a, age / b) underflows (age > ~700 b), the remaining
interval is drawn as exponential with rate 1 / b, the hazard's limit.

As for the other renewal sources (``renewal.py``), spikes are drawn ahead, from a
generator keyed by (seed, group, restart time), in steps that do not depend on how
the simulation is split into runs, and emitted when due. A parameter change discards
the drawn future and continues from the current time with the new parameters, each
source keeping its time since the last spike.
"""

import numpy as np
from scipy.special import gammaincc, gammainccinv

NAME = "SpikeSourceInhGamma"


def check(p):
    """Refuse parameters that define no process, naming the cell, value and rule."""
    for i, (a, b, tbins) in enumerate(zip(p["a"], p["b"], p["tbins"])):
        where = f"{NAME} (cell {i})"
        if not len(a) == len(b) == len(tbins) or not len(tbins):
            raise ValueError(f"{where}: a, b and tbins need one value per time bin (at least "
                             f"one), got {len(a)}, {len(b)} and {len(tbins)} values")
        if not np.all(np.isfinite(a) & (a > 0)):
            raise ValueError(f"{where}: a (gamma shape) must be finite and > 0, got "
                             f"a = {a.tolist()}")
        if np.any(np.isnan(b) | (b <= 0)):
            raise ValueError(f"{where}: b (gamma scale, in s) must be > 0 (inf: a silent "
                             f"bin), got b = {b.tolist()}")
        if not np.all(np.isfinite(tbins)) or np.any(np.diff(tbins) < 0):
            raise ValueError(f"{where}: tbins (ms) must be finite and in non-decreasing "
                             f"order, got tbins = {tbins.tolist()}")
    for name, ok, rule in (("start", np.isfinite(p["start"]), "finite"),
                           ("duration", ~np.isnan(p["duration"]) & (p["duration"] >= 0),
                            ">= 0")):
        if not np.all(ok):
            i = int(np.argmin(ok))
            raise ValueError(f"{NAME} (cell {i}): {name} must be {rule} ms, got "
                             f"{name} = {p[name][i]}")


def _table(sequences, fill):
    """Ragged per-source sequences -> (size x bins) array padded with ``fill``."""
    width = max(len(s) for s in sequences)
    out = np.full((len(sequences), width), fill, dtype=float)
    for i, s in enumerate(sequences):
        out[i, :len(s)] = s
    return out


class InhGammaSources:
    """The drawn future of every source of one group."""

    def __init__(self, size, seed, key):
        self.size, self.seed, self.key = size, seed, key
        self.last_spike = np.full(size, -np.inf)  # last spike already emitted
        self.emitted_until = -np.inf

    def reset(self, p):
        """Back to t = 0 with nothing drawn or emitted."""
        self.last_spike[:] = -np.inf
        self.emitted_until = -np.inf
        self.restart(p)

    def restart(self, p):
        """Forget what was drawn and not yet emitted; continue with parameters ``p``."""
        t = max(self.emitted_until, 0.0)
        self.rng = np.random.default_rng([self.seed, self.key, int(round(t * 1000))])
        self.a = _table(p["a"], 1.0)
        self.b = _table(p["b"], 1.0) * 1000.0  # ms
        self.tbins = np.hstack([_table(p["tbins"], np.inf), np.full((self.size, 1), np.inf)])
        self.stop = np.asarray(p["start"], float) + np.asarray(p["duration"], float)
        first = self.tbins[:, 0]
        self.front = np.maximum(first, self.emitted_until)  # drawn up to here
        self.last = np.maximum(self.last_spike, first)      # the age counts from here
        self.bin = np.array([np.searchsorted(row, f, "right") - 1
                             for row, f in zip(self.tbins, self.front)])
        self.front[self.front >= self.stop] = np.inf
        self.pending = []  # (source index, spike time) arrays, in drawing order

    def _advance(self):
        """One event (a spike or a bin boundary) for every source still drawing."""
        i = np.flatnonzero(np.isfinite(self.front))
        k = self.bin[i]
        a, b = self.a[i, k], self.b[i, k]
        end = self.tbins[i, k + 1]
        age = self.front[i] - self.last[i]
        u = self.rng.random(len(i))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            survival = gammaincc(a, age / b)
            x = np.where(survival > 1e-300, b * gammainccinv(a, u * survival),
                         age - b * np.log(u))
        x = np.where(np.isinf(b), np.inf, np.maximum(x, age))  # x >= age despite rounding
        spike = self.last[i] + x
        fired = spike < end
        self.pending.append((i[fired], spike[fired]))
        self.front[i] = np.where(fired, spike, end)
        self.last[i] = np.where(fired, spike, self.last[i])
        self.bin[i] += ~fired
        done = i[~np.isfinite(self.front[i]) | (self.front[i] >= self.stop[i])]
        self.front[done] = np.inf

    def emit(self, p, t_end):
        """Spike times in [emitted_until, t_end) of each source, within
        [start, start + duration)."""
        while np.isfinite(self.front).any() and self.front[np.isfinite(self.front)].min() < t_end:
            self._advance()
        index = np.concatenate([s for s, _ in self.pending] + [np.zeros(0, int)])
        times = np.concatenate([t for _, t in self.pending] + [np.zeros(0)])
        due = times < t_end
        self.pending = [(index[~due], times[~due])]
        index, times = index[due], times[due]
        order = np.argsort(index, kind="stable")  # per source, in time order
        index, times = index[order], times[order]
        bounds = np.searchsorted(index, np.arange(self.size + 1))
        out = []
        for i in range(self.size):
            mine = times[bounds[i]:bounds[i + 1]]
            if len(mine):
                self.last_spike[i] = mine[-1]
            start, stop = p["start"][i], p["start"][i] + p["duration"][i]
            out.append(mine[(mine >= start) & (mine < stop)])
        self.emitted_until = t_end
        return out
