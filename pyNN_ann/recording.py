"""
Recording for the pyNN.ann backend.

The engine records on its side; this Recorder tells it what to record and turns its
buffers into the arrays from which :class:`pyNN.recording.Recorder` builds Neo objects.
"""

import numpy as np
from pyNN import recording

from . import simulator
from .engine.recording import resample
from .surrogates.registry import off_grid


class Recorder(recording.Recorder):
    """Records spikes and state variables of one Population through the engine."""
    _simulator = simulator

    @property
    def _engine(self):
        return self._simulator.state.engine

    @property
    def _gid(self):
        return self.population._engine_group

    def _indices(self, ids):
        """Positions in the population (= engine indices) of the cells `ids`."""
        ids = np.fromiter((int(i) for i in ids), dtype=int)
        return ids - int(self.population.first_id)

    def _record(self, variable, new_ids, sampling_interval=None):
        """Tell the engine the full (sorted) set of cells to record for `variable`."""
        dt = self._simulator.state.dt
        if variable.name != "spikes":
            interval = sampling_interval or self.sampling_interval or dt
            steps = interval / dt
            if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
                raise ValueError(
                    f"sampling_interval ({interval} ms) must be a positive integer "
                    f"multiple of the time step ({dt} ms)")
            self.sampling_interval = interval
        index = np.sort(self._indices(self.recorded[variable]))
        self._engine.record(self._gid, variable.name, index, self._engine_interval(variable))

    def _engine_interval(self, variable):
        """The engine's sampling interval for ``variable``: the script's, or every
        engine step where the engine's grid does not hold the script's samples (they are
        then interpolated, see :meth:`_get_all_signals`)."""
        state = self._simulator.state
        if variable.name == "spikes":
            return state.dt
        if off_grid(self.sampling_interval, state.engine_dt):
            return state.engine_dt
        return self.sampling_interval

    def _reset(self):
        """Stop recording everything (``record(None)``)."""
        empty = np.zeros(0, dtype=int)
        for variable in self.recorded:
            self._engine.record(self._gid, variable.name, empty, self._engine_interval(variable))

    def _clear_simulator(self):
        """Discard the data recorded so far; keep recording the same cells."""
        for variable in self.recorded:
            if variable.name == "spikes":
                self._engine.recorded_spikes(self._gid, clear=True)
            else:
                self._engine.recorded_signal(self._gid, variable.name, clear=True)

    def _get_spiketimes(self, ids, clear=False):
        """(cell ids, spike times in ms) of every spike of the cells ``ids``: the array
        form, from which PyNN builds the spike trains in one pass (its per-cell dict
        form costs time quadratic in the number of cells)."""
        spikes = self._engine.recorded_spikes(self._gid, clear=clear)
        ids = np.asarray([int(i) for i in ids], dtype=int)
        trains = [np.asarray(spikes.get(int(index), ()), dtype=float)
                  for index in self._indices(ids)]
        counts = np.array([len(t) for t in trains], dtype=int)
        times = np.concatenate(trains) if trains else np.zeros(0)
        state = self._simulator.state
        if state.off_grid:  # the engine may be up to half its step past the script's time
            times = np.minimum(times, state.t)
        return np.repeat(ids, counts), times

    def _get_all_signals(self, variable, ids, clear=False):
        index, samples, t_start, interval = self._engine.recorded_signal(
            self._gid, variable.name, clear=clear)
        index = np.asarray(index, dtype=int)
        samples = np.asarray(samples, dtype=float).reshape(-1, index.size)
        if off_grid(self.sampling_interval, interval) and len(samples):
            # engine samples every engine step (a block starts with the state at its
            # start, also after clear=True): interpolate at the script's sample times
            samples = resample(samples, t_start, interval, self.sampling_interval)[0]
        column = {int(i): c for c, i in enumerate(index)}
        wanted = [column[int(i)] for i in self._indices(ids)]
        return samples[:, wanted], None

    def _local_count(self, variable, filter_ids=None):
        ids = sorted(self.filter_recorded(variable, filter_ids))
        id_array, _ = self._get_spiketimes(ids)
        counts = dict(zip(*np.unique(id_array, return_counts=True)))
        return {int(id): int(counts.get(int(id), 0)) for id in ids}
