"""PyNN's cross-backend conventions, as pyNN.nest and pyNN.neuron follow them: time steps
coarser or finer than the surrogates', min_delay="auto", live Connection objects, distance
functions in Projection.set, current-source phase and step-time rounding, and the
recorded times of SpikeSourceArray spikes."""

import numpy as np
import pytest
from pyNN import errors

import pyNN_ann as sim
from pyNN_ann.surrogates import registry


def _dc_driven_if_cell(timestep):
    sim.setup(timestep=timestep)
    cell = sim.Population(1, sim.IF_cond_exp(tau_refrac=2.0))
    sim.DCSource(amplitude=2.0, start=5.0, stop=80.0).inject_into(cell)
    cell.record(["spikes", "v"])
    sim.run(100.0)
    seg = cell.get_data().segments[0]
    spikes = np.asarray(seg.spiketrains[0].magnitude)
    v = seg.filter(name="v")[0]
    period = float(v.sampling_period.rescale("ms").magnitude)
    sim.end()
    return spikes, np.asarray(v.magnitude)[:, 0], period


def test_a_coarse_timestep_runs_whole_surrogate_steps_within_each_step():
    """setup(timestep=1.0): the surrogates (trained at 0.1 ms) take ten steps per time
    step; spikes are those of a dt-0.1 run and v is its every tenth sample."""
    assert registry.engine_timestep(1.0) == pytest.approx(0.1)
    assert registry.engine_timestep(0.05) == pytest.approx(0.025)  # 0.1 does not divide it
    assert registry.engine_timestep(0.025) == pytest.approx(0.025)  # every family's own
    assert registry.engine_timestep(0.001) == pytest.approx(0.01)  # finer than all: off grid
    assert registry.engine_timestep(0.123) == pytest.approx(0.1)  # no divisor: off grid
    assert not registry.off_grid(1.0, 0.1) and not registry.off_grid(0.05, 0.01)
    assert registry.off_grid(0.001, 0.01) and registry.off_grid(0.123, 0.1)
    fine_spikes, fine_v, _ = _dc_driven_if_cell(0.1)
    spikes, v, period = _dc_driven_if_cell(1.0)
    assert period == pytest.approx(1.0)
    assert len(v) == 101 and len(fine_v) == 1001
    assert len(spikes) > 5
    np.testing.assert_allclose(spikes, fine_spikes, atol=1e-6)
    np.testing.assert_allclose(v, fine_v[::10], atol=1e-4)


def test_a_timestep_shipped_for_one_family_only_refuses_the_others_by_name(if_only_at_0025):
    """0.025 ms with only IF_membrane shipped at it: the engine runs at it, and a cell
    type without a 0.025-ms surrogate is refused, naming the steps it has."""
    sim.setup(timestep=0.025)
    sim.Population(1, sim.IF_cond_exp())
    with pytest.raises(registry.UnsupportedTimestepError, match="HH_cond_exp.*0.01 and 0.1 ms"):
        sim.Population(1, sim.HH_cond_exp())
    sim.end()


def _off_grid_run(timestep):
    sim.setup(timestep=timestep, min_delay=0.1)
    cells = sim.Population(2, sim.IF_cond_exp(i_offset=[0.8, 2.0], tau_refrac=2.0))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 12.3]))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.01, delay=0.5))
    step = sim.StepCurrentSource(times=[10.0, 20.0], amplitudes=[0.3, 0.0])
    step.inject_into(cells[0:1])
    step.record()
    cells.record(["v", "spikes"])
    sim.run(30.0)
    seg = cells.get_data().segments[0]
    v = seg.filter(name="v")[0]
    out = (np.asarray(v.magnitude), float(v.sampling_period.rescale("ms").magnitude),
           [np.asarray(t.magnitude) for t in seg.spiketrains], sim.get_current_time(),
           np.asarray(step.get_data().magnitude).ravel())
    sim.end()
    return out


def test_a_timestep_finer_than_any_surrogate_runs_at_the_finest_and_interpolates():
    """0.001 ms (PyNN's HH_cond_exp2.py): the cells advance by 0.01 ms, with a warning
    that says so; v and the injected current are sampled every 0.001 ms, equal to the
    0.01-ms run at its times and interpolated between them."""
    with pytest.warns(registry.InputRangeWarning, match="advances the cells by 0.01 ms"):
        fine_v, period, fine_spikes, t, fine_current = _off_grid_run(0.001)
    v, _, spikes, _, current = _off_grid_run(0.01)
    assert period == pytest.approx(0.001) and t == pytest.approx(30.0)
    assert fine_v.shape == (30001, 2) and v.shape == (3001, 2)
    np.testing.assert_allclose(fine_v[::10], v, atol=1e-9)
    np.testing.assert_allclose(fine_v[5::10], 0.5 * (v[:-1] + v[1:]), atol=1e-9)
    assert len(spikes[1]) >= 3
    for a, b in zip(fine_spikes, spikes):
        np.testing.assert_allclose(a, b, atol=1e-9)
    assert len(fine_current) == 30001
    np.testing.assert_allclose(fine_current[::10], current, atol=1e-12)


def test_off_grid_time_follows_the_script_and_short_delays_are_refused():
    """0.123 ms: the engine (0.1 ms) follows the script's clock to its nearest step, and
    a delay shorter than the engine's step is refused with the step it needs."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", registry.InputRangeWarning)
        sim.setup(timestep=0.123, min_delay=0.123)
    cells = sim.Population(1, sim.Izhikevich(i_offset=0.02))
    cells.record("v")
    for _ in range(10):
        sim.run(0.123 * 3)
    assert sim.get_current_time() == pytest.approx(3.69)
    assert sim.simulator.state.engine.t == pytest.approx(3.7)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert len(v) == 31  # 0, 0.123, ..., 3.69: the script's grid
    sim.end()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", registry.InputRangeWarning)
        sim.setup(timestep=0.001, min_delay=0.001)
    a, b = sim.Population(1, sim.IF_cond_exp()), sim.Population(1, sim.IF_cond_exp())
    with pytest.raises(errors.ConnectionError, match="0.005 ms is smaller than 0.01 ms"):
        sim.Projection(a, b, sim.OneToOneConnector(), sim.StaticSynapse(delay=0.005))
    sim.end()


def test_noise_source_default_interval_is_the_scripts_timestep():
    sim.setup(timestep=1.0)
    cells = sim.Population(1, sim.IF_curr_exp())
    noise = sim.NoisyCurrentSource(mean=0.0, stdev=0.5, start=0.0, stop=50.0)
    noise.inject_into(cells)
    noise.record()
    sim.run(50.0)
    current = noise.get_data()
    sim.end()
    assert float(current.sampling_period.rescale("ms").magnitude) == pytest.approx(1.0)
    values = np.asarray(current.magnitude).ravel()[:50]
    assert len(np.unique(values)) > 40  # a new value every 1-ms step, not every 10


def test_min_delay_auto_is_the_smallest_delay_made():
    sim.setup(min_delay="auto")
    assert sim.get_min_delay() == pytest.approx(0.1)
    a, b = sim.Population(3, sim.IF_cond_exp()), sim.Population(4, sim.IF_cond_exp())
    sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(delay=0.5))
    assert sim.get_min_delay() == pytest.approx(0.5)
    sim.Projection(b, a, sim.AllToAllConnector(), sim.StaticSynapse(delay=0.3))
    assert sim.get_min_delay() == pytest.approx(0.3)
    sim.end()


def test_connection_objects_write_weight_and_delay_through():
    sim.setup()
    pre, post = sim.Population(4, sim.SpikeSourceArray()), sim.Population(3, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.05, delay=0.5))
    c = prj.connections[2]
    c.weight, c.delay = 0.0123, 1.0
    assert (c.weight, c.delay) == (0.0123, 1.0)
    values = np.array(prj.get(("weight", "delay"), format="list", with_address=False))
    expected = np.tile([0.05, 0.5], (12, 1))
    expected[2] = [0.0123, 1.0]
    np.testing.assert_allclose(values, expected)
    with pytest.raises(errors.ConnectionError):
        prj[3].delay = 0.01  # below dt
    with pytest.raises(IndexError):
        prj[12]
    sim.end()


def test_projection_set_with_a_function_of_distance():
    sim.setup()
    a = sim.Population(4, sim.IF_cond_exp(), structure=sim.space.Line())
    b = sim.Population(2, sim.IF_cond_exp(), structure=sim.space.Line())
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.6, rng=sim.NumpyRNG(3)),
                         sim.TsodyksMarkramSynapse(U=0.5, delay=0.1))
    prj.set(delay=lambda d: 0.5 + d)
    prj.initialize(u=lambda d: 0.1 * d)
    delays = prj.get("delay", format="array")
    expected = 0.5 + np.abs(np.arange(4)[:, None] - np.arange(2)[None, :])
    connected = ~np.isnan(delays)
    assert connected.sum() == len(prj) > 0
    np.testing.assert_allclose(delays[connected], expected[connected])
    engine = sim.simulator.state.engine
    (sid, _), = prj._blocks  # u is not a parameter, so Projection.get cannot read it
    u = np.full((4, 2), np.nan)
    u[prj._pre_index, prj._post_index] = engine.get_synapses(sid, "u")
    np.testing.assert_allclose(u[connected], 0.1 * (expected[connected] - 0.5), rtol=1e-6)
    prj.initialize(u=np.full((4, 2), 0.25))
    np.testing.assert_allclose(engine.get_synapses(sid, "u"), 0.25)
    sim.end()


def test_ac_source_phase_is_counted_from_its_start():
    sim.setup(timestep=0.1)
    cells = sim.Population(1, sim.IF_curr_exp())
    ac = sim.ACSource(start=5.0, stop=20.0, amplitude=1.0, offset=0.0, frequency=100.0,
                      phase=90.0)
    ac.inject_into(cells)
    ac.record()
    sim.run(25.0)
    i = np.asarray(ac.get_data().magnitude).ravel()
    sim.end()
    assert i[49] == 0.0
    assert i[50] == pytest.approx(1.0)  # sin(90 deg) at t = start
    assert i[50 + 50] == pytest.approx(-1.0, abs=1e-6)  # half a 100-Hz period later


def test_step_current_times_move_to_the_grid_and_are_checked():
    sim.setup(timestep=0.1)
    step = sim.StepCurrentSource(times=[0.41, 0.42, 0.86], amplitudes=[0.5, -0.5, 0.5])
    np.testing.assert_allclose(step.times.evaluate(), [0.4, 0.9])
    np.testing.assert_allclose(step.amplitudes.evaluate(), [-0.5, 0.5])  # the last stands
    assert step.times[0] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="negative"):
        sim.StepCurrentSource(times=[0.4, -0.6, 0.8], amplitudes=[0.5, -0.5, 0.5])
    with pytest.raises(ValueError, match="increase"):
        sim.StepCurrentSource(times=[0.4, 0.2, 0.8], amplitudes=[0.5, -0.5, 0.5])
    sim.end()


def test_spike_source_array_checks_order_and_reports_the_given_times():
    sim.setup(timestep=0.05)
    with pytest.raises(errors.InvalidParameterValueError, match="cell 1"):
        sim.Population(2, sim.SpikeSourceArray(spike_times=[[2.4, 4.8], [3.5, 9.6, 8.3]]))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[0.075, 10.025, 12.34, 1000.025]))
    src.record("spikes")
    runs = []
    for _ in range(3):
        sim.run(10.0)
        runs.append(src.get_data("spikes", clear=True).segments[0].spiketrains[0].magnitude)
    sim.end()
    np.testing.assert_allclose(runs[0], [0.075], rtol=1e-12)
    np.testing.assert_allclose(runs[1], [10.025, 12.34], rtol=1e-12)
    assert runs[2].size == 0
