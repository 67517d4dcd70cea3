"""Spike sources that the adapter draws and hands to the engine as spike arrays.

The engine keeps one number per cell and parameter, so sources whose parameters are
per-cell sequences (SpikeSourceInhGamma: a, b, tbins) keep their parameters and
drawn future here (``engine.inh_gamma``). Before every run the spikes due in that
run replace the spike times of an engine spike-array group; ``reset()`` and
parameter changes restart the drawing, as the engine does for its own renewal
sources.
"""

import numpy as np
from pyNN.errors import InvalidParameterValueError

from .engine import inh_gamma

SEQUENCES = ("a", "b", "tbins")


def _sequences(values):
    """Sequence objects (or array-likes), one per cell -> list of 1-D float arrays."""
    return [np.asarray(getattr(v, "value", v), dtype=float).ravel() for v in values]


class HostSources:
    """The host-drawn source groups of one simulation, by engine group id."""

    def __init__(self):
        self._groups = {}  # gid -> [InhGammaSources, parameters]

    def add_inh_gamma(self, engine, size, parameters):
        """An inhomogeneous gamma group; ``parameters`` in PyNN's names and units."""
        p = self._checked(size, parameters)
        gid = engine.add_spike_array_group([np.zeros(0) for _ in range(size)],
                                           report_given_times=False)
        sources = inh_gamma.InhGammaSources(size, engine.seed, gid)
        sources.reset(p)
        self._groups[gid] = [sources, p]
        return gid

    @staticmethod
    def _checked(size, parameters):
        p = {}
        for name, values in parameters.items():
            if name in SEQUENCES:
                p[name] = _sequences(values)
            else:
                p[name] = np.array(np.broadcast_to(np.asarray(values, float), (size,)))
        try:
            inh_gamma.check(p)
        except ValueError as err:
            raise InvalidParameterValueError(str(err)) from None
        return p

    def set(self, gid, updates, index=None):
        """New values (arrays over ``index``) of some parameters of group ``gid``."""
        sources, old = self._groups[gid]
        merged = {}
        for name, current in old.items():
            merged[name] = list(current) if name in SEQUENCES else current.copy()
            if name not in updates:
                continue
            cells = range(sources.size) if index is None else np.asarray(index)
            values = (_sequences(updates[name]) if name in SEQUENCES
                      else np.broadcast_to(np.asarray(updates[name], float), (len(cells),)))
            for i, value in zip(cells, values):
                merged[name][i] = value
        p = self._checked(sources.size, merged)
        self._groups[gid][1] = p
        sources.restart(p)

    def before_run(self, engine, t_end):
        """Give the engine the spikes due before ``t_end`` (ms)."""
        for gid, (sources, p) in self._groups.items():
            engine.set_parameters(gid, "spike_times", sources.emit(p, t_end))

    def reset(self):
        for sources, p in self._groups.values():
            sources.reset(p)
