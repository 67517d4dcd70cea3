"""Current sources: waveforms, injection into surrogate cells, recording, changes."""

import numpy as np
import pytest

from pyNN_ann.engine import currents
from pyNN_ann.surrogates import registry

needs_hh = pytest.mark.skipif("HH_cond_exp" not in registry.available(),
                              reason="no shipped HH_cond_exp surrogate")


def test_waveforms():
    steps = np.arange(0, 1001)
    dc = currents.waveform("dc", {"amplitude": 0.5, "start": 20.0, "stop": 80.0}, steps, 0.1)
    assert dc[199] == 0 and dc[200] == 0.5 and dc[799] == 0.5 and dc[800] == 0
    st = currents.waveform("step", {"times": [10.0, 50.0], "amplitudes": [0.1, -0.2]},
                           steps, 0.1)
    assert st[99] == 0 and st[100] == 0.1 and st[499] == 0.1 and st[500] == -0.2 and st[-1] == -0.2
    ac = currents.waveform("ac", {"amplitude": 1.0, "frequency": 10.0, "offset": 0.5,
                                  "phase": 90.0, "start": 0.0, "stop": 1e12}, steps, 0.1)
    assert ac[0] == pytest.approx(1.5) and ac[500] == pytest.approx(-0.5)
    p = {"mean": 1.0, "stdev": 2.0, "dt": 1.0, "start": 0.0, "stop": 1e12}
    noise = currents.waveform("noise", p, np.arange(0, 200000), 0.1, seed=3, source=1)
    assert np.all(noise[:10] == noise[0]) and noise[10] != noise[0]  # held for dt = 1 ms
    assert noise[::10].mean() == pytest.approx(1.0, abs=0.05)
    assert noise[::10].std() == pytest.approx(2.0, rel=0.03)
    part = currents.waveform("noise", p, np.arange(5000, 6000), 0.1, seed=3, source=1)
    np.testing.assert_array_equal(part, noise[5000:6000])  # independent of chunking
    with pytest.raises(ValueError, match="2 times but 1 amplitudes"):
        currents.check("step", {"times": [1.0, 2.0], "amplitudes": [0.1]})


@needs_hh
def test_injected_current_drives_cells_and_is_recorded():
    import pyNN.ann as sim
    sim.setup(timestep=0.1)
    cells = sim.Population(4, sim.HH_cond_exp())
    dc = sim.DCSource(amplitude=0.3, start=50.0, stop=150.0)
    dc.inject_into(cells[0:2])
    cells.record("spikes")
    dc.record()
    sim.run(200.0)
    counts = [len(s) for s in cells.get_data().segments[0].spiketrains]
    assert counts[0] >= 3 and counts[1] >= 3   # driven cells fire...
    assert counts[2] <= 1 and counts[3] <= 1   # ...the others stay at rest
    spikes = cells.get_data().segments[0].spiketrains[0].magnitude
    assert np.all((spikes > 50.0) & (spikes < 160.0))
    sig = dc.get_data()
    assert sig.shape == (2001, 1) and float(sig.t_start) == 0.0
    assert sig.magnitude[499, 0] == 0 and sig.magnitude[500, 0] == pytest.approx(0.3)
    # parameters change between runs
    dc.amplitude = 0.0
    dc.stop = 1e12
    sim.run(100.0)
    later = [len(s) for s in cells.get_data().segments[0].spiketrains]
    assert later[:2] == counts[:2]
    assert dc.get_data().shape == (3001, 1)
    sim.end()


@needs_hh
def test_step_and_noise_sources_and_bad_targets():
    import pyNN.ann as sim
    sim.setup(timestep=0.1)
    cells = sim.Population(2, sim.HH_cond_exp())
    src = sim.Population(1, sim.SpikeSourcePoisson(rate=10.0))
    step = sim.StepCurrentSource(times=[20.0, 60.0], amplitudes=[0.35, 0.0])
    cells.inject(step)
    noise = sim.NoisyCurrentSource(mean=0.0, stdev=0.02, dt=1.0)
    noise.inject_into([cells[1]])
    cells.record("spikes")
    sim.run(100.0)
    trains = cells.get_data().segments[0].spiketrains
    assert all(len(t) >= 2 and np.all((t.magnitude > 20) & (t.magnitude < 70)) for t in trains)
    with pytest.raises(TypeError, match="spike source"):
        sim.DCSource(amplitude=0.1).inject_into(src)
    with pytest.raises(ValueError, match="times but"):
        sim.StepCurrentSource(times=[1.0, 2.0], amplitudes=[0.1])
    sim.end()


#: pyNN.neuron CVODE (rtol = atol = 1e-6) spike times of the cells of
#: test_hh_cells_follow_step_and_ac_currents_as_the_reference (2026-12-04)
HH_STEP_AC_REFERENCE = [
    [27.11, 62.91, 75.89, 88.92, 101.75, 167.39, 185.29],
    [33.26, 67.73, 85.03, 102.32, 170.42, 195.95],
    [25.49, 59.82, 70.33, 80.83, 91.33, 101.82, 165.52, 180.79, 196.07],
]


@needs_hh
def test_hh_cells_follow_step_and_ac_currents_as_the_reference():
    """A StepCurrentSource into three HH_cond_exp cells with different cm and gbar_Na,
    an ACSource on top into the first: every spike in the step in which the converged
    reference's falls (pyNN.ann reports a spike at the end of its step)."""
    import pyNN_ann as sim
    sim.setup(timestep=0.1)
    cells = sim.Population(3, sim.HH_cond_exp(cm=[0.2, 0.3, 0.15], gbar_Na=[20, 30, 15]))
    sim.StepCurrentSource(times=[10.0, 60.0, 110.0, 160.0],
                          amplitudes=[0.1, 0.5, 0.0, 0.3]).inject_into(cells)
    sim.ACSource(start=20.0, stop=190.0, amplitude=0.05, offset=0.0, frequency=40.0,
                 phase=0.0).inject_into(cells[0:1])
    cells.record("spikes")
    sim.run(200.0)
    trains = [st.magnitude for st in cells.get_data().segments[0].spiketrains]
    sim.end()
    for train, ref in zip(trains, HH_STEP_AC_REFERENCE):
        assert len(train) == len(ref), (train, ref)
        lag = train - np.array(ref)
        assert np.all((lag > -0.02) & (lag < 0.12)), lag
