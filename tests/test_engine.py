"""Engine behaviour: exact synaptic kernels and delays, chunking, reproducibility."""

import numpy as np
import pytest

from pyNN_ann.engine import Engine
from pyNN_ann.engine import network as engine_network
from pyNN_ann.surrogates import registry

pytestmark = pytest.mark.skipif("HH_cond_exp" not in registry.available(),
                                reason="no shipped HH_cond_exp surrogate")

HH = {"gbar_Na": 20.0, "gbar_K": 6.0, "g_leak": 0.01, "cm": 0.2, "v_offset": -63.0,
      "e_rev_Na": 50.0, "e_rev_K": -90.0, "e_rev_leak": -65.0, "e_rev_E": 0.0,
      "e_rev_I": -80.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "i_offset": 0.0}


def network(seed=7, n=50, rate=800.0):
    eng = Engine(dt=0.1, seed=seed, progress=False)
    cells = eng.add_surrogate_group("HH_cond_exp", n, HH, {"v": np.full(n, -65.0)})
    noise = eng.add_poisson_group(n, np.full(n, rate), np.zeros(n), np.full(n, 1e9))
    idx = np.arange(n)
    eng.add_synapses(noise, idx, cells, idx, np.full(n, 0.004), np.full(n, 1.0), "excitatory")
    rng = np.random.default_rng(1)
    pre, post = rng.integers(0, n, 200), rng.integers(0, n, 200)
    eng.add_synapses(cells, pre, cells, post, np.full(200, 0.02), rng.uniform(0.5, 3.0, 200),
                     "inhibitory")
    eng.record(cells, "v", idx, 0.1)
    eng.record(cells, "gsyn_inh", idx, 0.5)
    eng.record(cells, "spikes", idx)
    return eng, cells


def spikes_of(eng, gid):
    return [t for _, t in sorted(eng.recorded_spikes(gid).items())]


def test_conductance_kernel_and_delay_are_exact():
    eng = Engine(dt=0.1, seed=1, progress=False)
    cells = eng.add_surrogate_group("HH_cond_exp", 1, HH)
    src = eng.add_spike_array_group([np.array([2.0, 4.5])])
    eng.add_synapses(src, [0], cells, [0], [0.01], [1.3], "excitatory")
    eng.record(cells, "gsyn_exc", [0], 0.1)
    eng.run(20.0)
    g = eng.recorded_signal(cells, "gsyn_exc")[1][:, 0]
    t = np.arange(len(g)) * 0.1
    expected = sum(0.01 * np.exp(-(t - a) / 5.0) * (t >= a - 1e-9) for a in (3.3, 5.8))
    # samples at t hold the conductance just before arrivals due at t
    expected[np.isclose(t, 3.3) | np.isclose(t, 5.8)] -= 0.01
    np.testing.assert_allclose(g, expected, atol=1e-6)


def test_ten_runs_equal_one_long_run():
    a, ga = network()
    for _ in range(10):
        a.run(20.0)
    b, gb = network()
    b.run(200.0)
    np.testing.assert_array_equal(a.recorded_signal(ga, "v")[1], b.recorded_signal(gb, "v")[1])
    for x, y in zip(spikes_of(a, ga), spikes_of(b, gb)):
        np.testing.assert_array_equal(x, y)
    assert a.recorded_signal(ga, "v")[1].shape == (2001, 50)
    assert a.recorded_signal(ga, "gsyn_inh")[1].shape == (401, 50)


def test_reset_reproduces_and_seeds_matter():
    a, ga = network(seed=3)
    a.run(150.0)
    first = a.recorded_signal(ga, "v")[1].copy()
    assert sum(len(s) for s in spikes_of(a, ga)) > 0
    a.reset()
    assert a.t == 0.0
    a.run(150.0)
    np.testing.assert_array_equal(first, a.recorded_signal(ga, "v")[1])
    b, gb = network(seed=3)
    b.run(150.0)
    np.testing.assert_array_equal(first, b.recorded_signal(gb, "v")[1])
    c, gc = network(seed=4)
    c.run(150.0)
    assert not np.array_equal(first, c.recorded_signal(gc, "v")[1])


def test_long_run_spanning_many_chunks_keeps_every_sample(monkeypatch):
    monkeypatch.setattr(engine_network, "MAX_CHUNK_STEPS", 300)
    a, ga = network()
    a.run(100.0)  # 1000 steps in chunks of 300 (and a remainder)
    b, gb = network()
    b.run(100.0)
    monkeypatch.undo()
    c, gc = network()
    c.run(100.0)
    v = a.recorded_signal(ga, "v")[1]
    assert v.shape == (1001, 50)
    np.testing.assert_array_equal(v, c.recorded_signal(gc, "v")[1])


def test_many_simultaneous_spikes_are_all_transmitted():
    # more spikes in one step than a transmission block holds
    n = 3000
    eng = Engine(dt=0.1, seed=1, progress=False)
    cells = eng.add_surrogate_group("HH_cond_exp", 1, HH)
    src = eng.add_spike_array_group([np.array([1.0])] * n)
    eng.add_synapses(src, np.arange(n), cells, np.zeros(n, int), np.full(n, 1e-5),
                     np.full(n, 0.5), "inhibitory")
    eng.record(cells, "gsyn_inh", [0], 0.1)
    eng.run(2.0)
    g = eng.recorded_signal(cells, "gsyn_inh")[1][:, 0]
    assert g[16] == pytest.approx(n * 1e-5 * np.exp(-0.1 / 10.0), rel=1e-4)  # float32 sum


def test_delay_below_timestep_and_negative_rates_are_refused():
    eng = Engine(dt=0.1, seed=1, progress=False)
    cells = eng.add_surrogate_group("HH_cond_exp", 2, HH)
    src = eng.add_spike_array_group([np.array([1.0])] * 2)
    with pytest.raises(ValueError, match="below the time step"):
        eng.add_synapses(src, [0, 1], cells, [0, 1], [0.01, 0.01], [0.1, 0.04], "excitatory")
    with pytest.raises(ValueError, match=">= 0 Hz"):
        eng.add_poisson_group(1, np.array([-5.0]), np.zeros(1), np.ones(1))


def test_input_beyond_training_range_warns():
    eng = Engine(dt=0.1, seed=1, progress=False)
    cells = eng.add_surrogate_group("HH_cond_exp", 2, HH)
    src = eng.add_spike_array_group([np.array([1.0]), np.array([1.0])])
    eng.add_synapses(src, [0, 1], cells, [0, 1], [0.01, 5.0], [0.5, 0.5], "excitatory")
    with pytest.warns(registry.InputRangeWarning, match=r"g_exc reached 5 uS in 1 cell"):
        eng.run(5.0)


def test_default_seed_is_fixed():
    def poisson_spikes():
        eng = Engine(dt=0.1, progress=False)  # no seed given
        g = eng.add_poisson_group(20, np.full(20, 200.0), np.zeros(20), np.full(20, 1e9))
        eng.record(g, "spikes", np.arange(20))
        eng.run(100.0)
        return spikes_of(eng, g)
    for x, y in zip(poisson_spikes(), poisson_spikes()):
        np.testing.assert_array_equal(x, y)


def test_progress_option_and_run_timings(monkeypatch):
    import pyNN_ann as sim
    sim.setup(timestep=0.1, progress=False)
    cells = sim.Population(3, sim.IF_cond_exp())
    assert sim.simulator.state.engine.progress is False
    sim.run(5.0)
    sim.run(5.0)
    timings = sim.simulator.state.engine.timings
    assert set(timings) == {"prepare", "compile", "loop", "host"}
    assert timings["compile"] > 0 and timings["loop"] > 0  # first chunk compiled, then ran
    monkeypatch.setenv("PYNN_ANN_PROGRESS", "0")
    sim.setup(timestep=0.1)
    assert sim.simulator.state.engine.progress is False
    monkeypatch.setenv("PYNN_ANN_PROGRESS", "1")
    sim.setup(timestep=0.1)
    assert sim.simulator.state.engine.progress is True
    assert cells.size == 3


@pytest.mark.parametrize("tile", [8, 512])
def test_tiled_transmission_equals_direct_sum(monkeypatch, tile):
    """The optimised transmission (active rows listed by a prefix sum, taken in blocks,
    each block's synapses gathered as a tile) delivers exactly what a plain sum over
    every synapse and spike gives, also when a neuron's fan-out exceeds a tile."""
    from pyNN_ann.engine import loop
    monkeypatch.setattr(loop, "TILE", tile)
    rng = np.random.default_rng(3)
    n_src, n_cells, dt, tau = 40, 6, 0.1, 5.0
    eng = Engine(dt=dt, seed=1, progress=False)
    times = [np.unique(np.round(rng.uniform(0.5, 8.0, rng.integers(0, 6)), 1))
             for _ in range(n_src)]
    src = eng.add_spike_array_group(times)
    cells = eng.add_surrogate_group("HH_cond_exp", n_cells, HH)
    fan = rng.integers(0, 30, n_src)  # 0 .. 29 synapses per source (beyond 8)
    pre = np.repeat(np.arange(n_src), fan)
    post = rng.integers(0, n_cells, pre.size)
    weight = rng.uniform(1e-4, 1e-3, pre.size)
    delay = np.round(rng.uniform(0.1, 2.0, pre.size), 1)
    eng.add_synapses(src, pre, cells, post, weight, delay, "excitatory")
    eng.record(cells, "gsyn_exc", np.arange(n_cells), dt)
    eng.run(12.0)
    g = eng.recorded_signal(cells, "gsyn_exc")[1]
    steps = np.arange(g.shape[0])
    expected = np.zeros_like(g, dtype=float)
    for s, c, w, d in zip(pre, post, weight, delay):
        for spike in times[s]:
            arrival = int(round(spike / dt)) + int(round(d / dt))
            # samples hold the conductance just before the arrivals due at that step
            later = steps > arrival
            expected[later, c] += w * np.exp(-(steps[later] - arrival) * dt / tau)
    assert expected.max() > 1e-3
    np.testing.assert_allclose(g, expected, atol=2e-6)


def test_resample_takes_samples_on_the_grid_as_they_are_and_interpolates_between():
    from pyNN_ann.engine.recording import resample
    samples = np.array([[0.0, np.nan], [1.0, 5.0], [3.0, 7.0], [4.0, 9.0]])  # every 0.01 ms
    rows, k0, k1 = resample(samples, 0.0, 0.01, 0.01)  # same grid: unchanged, NaN kept
    np.testing.assert_array_equal(rows, samples)
    assert (k0, k1) == (0, 3)
    rows, k0, k1 = resample(samples, 0.0, 0.01, 0.005)
    assert (k0, k1) == (0, 6)
    np.testing.assert_allclose(rows[:, 0], [0.0, 0.5, 1.0, 2.0, 3.0, 3.5, 4.0])
    assert np.isnan(rows[1, 1]) and rows[2, 1] == 5.0 and rows[3, 1] == 6.0
    rows, k0, k1 = resample(samples, 0.1, 0.01, 0.025)  # 0.1 ... 0.13: grid 0.1, 0.125
    assert (k0, k1) == (4, 5)
    np.testing.assert_allclose(rows[:, 0], [0.0, 3.5])
    rows, k0, k1 = resample(samples[:0], 0.0, 0.01, 0.025)
    assert rows.shape == (0, 2) and k1 < k0
