"""Current sources of the pyNN.ann backend: DCSource, ACSource, StepCurrentSource,
NoisyCurrentSource. The engine evaluates each waveform per chunk and adds it to the
injected-current input of the surrogates of the target cells."""

import numpy as np
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, electrodes

from .. import simulator


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
            self.kind, self._native))

    def get_native_parameters(self):
        return ParameterSpace(dict(self._native), self.get_schema(), shape=(1,))

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        for name, value in parameters.items():
            self._native[name] = value.value if isinstance(value, Sequence) else value
        if self._cid is not None:
            simulator.state.engine.set_current_source(self._cid, self._native)

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
        t_start, values = simulator.state.engine.recorded_current(self._cid)
        return t_start + np.arange(len(values)) * simulator.state.dt, values


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
