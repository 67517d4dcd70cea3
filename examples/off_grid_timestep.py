"""HH_cond_exp cells at a time step no surrogate is trained at (0.001 ms by default).

pyNN.ann advances the cells by 0.01 ms, says so in a warning, and interpolates v onto
the 0.001-ms grid; run the same script on pyNN.neuron to compare (docs/results.md,
"Time steps no surrogate step divides").

Usage: ``python off_grid_timestep.py ann|neuron [timestep]``. Prints the spike count of
each cell and saves ``<simulator>_<timestep>.npy`` (the 7 cells' spike trains, then the
20 inputs').
"""
import sys
from importlib import import_module

import numpy as np

name = sys.argv[1]
dt = float(sys.argv[2]) if len(sys.argv) > 2 else 0.001
sim = import_module("pyNN." + name)
sim.setup(timestep=dt, min_delay=0.1)

amps = np.linspace(0.1, 0.4, 7)  # nA, within the HH surrogate's domain
cells = sim.Population(len(amps), sim.HH_cond_exp(i_offset=amps))
cells.initialize(v=-65.0)
rng = np.random.default_rng(5)  # the same input trains on every simulator
trains = [np.round(np.sort(rng.uniform(1, 500, rng.poisson(25))), 3) for _ in range(20)]
inputs = sim.Population(20, sim.SpikeSourceArray(spike_times=trains))
sim.Projection(inputs, cells, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(seed=3)),
               sim.StaticSynapse(weight=0.01, delay=1.0))
inputs.record("spikes")
cells.record(["spikes", "v"])
sim.run(500.0)

out = cells.get_data().segments[0]
given = inputs.get_data().segments[0]
trains = [np.asarray(s) for s in out.spiketrains] + [np.asarray(s) for s in given.spiketrains]
np.save(f"{name}_{dt:g}.npy", np.array(trains, dtype=object), allow_pickle=True)
print(name, f"dt {dt:g} ms:", [len(s) for s in out.spiketrains], "spikes;",
      len(out.analogsignals[0]), "samples of v")
sim.end()
