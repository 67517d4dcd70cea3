"""Current sources of the pyNN.ann backend: DCSource, ACSource, StepCurrentSource,
NoisyCurrentSource. The engine evaluates each waveform per chunk and adds it to the
injected-current input of the surrogates of the target cells."""

import numpy as np
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, electrodes

from .. import simulator
from ..engine.recording import resample


class EngineCurrentSource(object):
    """Mixin: a standard current source held by the engine (identity translations)."""

    kind = None

    def __init__(self, **parameters):
        object.__setattr__(self, "_native", {})
        object.__setattr__(self, "_cid", None)
        super().__init__(**parameters)
        space = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        space.update(**parameters)
        self.set_native_parameters(self.translate(space))
        object.__setattr__(self, "_cid", simulator.state.engine.add_current_source(
            self.kind, self._engine_parameters()))

    def get_native_parameters(self):
        # no schema: sequences come back as plain arrays (source.times[0] is a number),
        # as in pyNN.neuron and pyNN.nest
        return ParameterSpace(dict(self._native))

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        for name, value in parameters.items():
            self._native[name] = value.value if isinstance(value, Sequence) else value
        if "times" in self._native:
            self._native["times"], self._native["amplitudes"] = step_times_on_grid(
                self._native["times"], self._native["amplitudes"], simulator.state.dt)
        if self._cid is not None:
            simulator.state.engine.set_current_source(self._cid, self._engine_parameters())

    def _engine_parameters(self):
        """The native parameters, with a noise source's default interval (``dt=None``)
        made the script's time step: the engine may take finer steps."""
        if "dt" in self._native and not self._native["dt"]:
            return dict(self._native, dt=simulator.state.dt)
        return self._native

    def inject_into(self, cells):
        """Inject this current into a Population, PopulationView, Assembly or a list
        of IDs."""
        from ..populations import engine_addresses
        if hasattr(cells, "_root") or hasattr(cells, "populations"):
            gids, index = engine_addresses(cells)  # the engine refuses spike sources
        else:
            cells = list(cells)
            if any(not c.celltype.injectable for c in cells):
                raise TypeError("Can't inject current into a spike source.")
            gids = np.array([c.parent._engine_group for c in cells])
            index = np.array([c.parent.id_to_index(c) for c in cells])
        for gid in np.unique(gids):
            simulator.state.engine.inject(self._cid, int(gid), index[gids == gid])

    def record(self):
        simulator.state.engine.record_current(self._cid)

    def _get_data(self):
        """(times, nA) of the injected current, one sample per time step of the script."""
        t_start, values = simulator.state.engine.recorded_current(self._cid)
        state = simulator.state
        values, k0, _ = resample(values, t_start, state.engine_dt, state.dt)
        return (k0 + np.arange(len(values))) * state.dt, values


def step_times_on_grid(times, amplitudes, dt):
    """StepCurrentSource times moved to the nearest time step (as in pyNN.neuron and
    pyNN.nest); of several changes that land on one step, the last stands. Raises
    ValueError for negative or non-increasing times."""
    times = np.asarray(times, dtype=float).ravel()
    amplitudes = np.asarray(amplitudes, dtype=float).ravel()
    if (times < 0).any():
        raise ValueError(f"StepCurrentSource cannot accept negative times ({times.min():g} ms)")
    if (np.diff(times) <= 0).any():
        raise ValueError(f"StepCurrentSource times must increase strictly, got {times.tolist()}")
    if times.size != amplitudes.size:
        raise ValueError(f"StepCurrentSource: {times.size} times but {amplitudes.size} "
                         "amplitudes")
    times = np.rint(times / dt) * dt
    last = np.append(times[1:] != times[:-1], True)
    return times[last], amplitudes[last]


def _source(base, kind):
    """pyNN.ann's version of the standard source ``base``, with identity translations."""
    names = [n for n in base.default_parameters if n != "rng"]
    return type(base.__name__, (EngineCurrentSource, base), {
        "__doc__": base.__doc__, "kind": kind,
        "translations": build_translations(*[(n, n) for n in names])})


DCSource = _source(electrodes.DCSource, "dc")
ACSource = _source(electrodes.ACSource, "ac")
StepCurrentSource = _source(electrodes.StepCurrentSource, "step")
NoisyCurrentSource = _source(electrodes.NoisyCurrentSource, "noise")
