"""Run a :class:`Protocol` straight on the engine (no PyNN layer): a fast check of a
surrogate during development, equivalent to running the protocol through pyNN.ann."""

import numpy as np


def run_on_engine(protocol, model_dir=None, seed=0):
    """Simulate ``protocol`` with the engine; returns {"v": cells x samples, "spikes"}."""
    from ...engine import Engine
    from .. import registry

    engine = Engine(dt=protocol.dt, seed=seed, progress=False)
    if model_dir is not None:
        surrogate = registry.Surrogate(model_dir)
        engine._cells[protocol.celltype] = (surrogate, surrogate.build_cell())
    n = protocol.size
    cells = engine.add_surrogate_group(protocol.celltype, n, protocol.parameters,
                                       dict(protocol.initial, v=protocol.v_init))
    index = np.arange(n)
    for trains, weights, receptor in ((protocol.exc_spikes, protocol.exc_weight, "excitatory"),
                                      (protocol.inh_spikes, protocol.inh_weight, "inhibitory")):
        source = engine.add_spike_array_group(trains)
        engine.add_synapses(source, index, cells, index, weights,
                            np.full(n, protocol.delay), receptor)
    engine.record(cells, "v", index, protocol.dt)
    engine.record(cells, "spikes", index)
    engine.run(protocol.duration)
    spikes = engine.recorded_spikes(cells)
    return {"v": engine.recorded_signal(cells, "v")[1].T,
            "spikes": [spikes[i] for i in range(n)]}
