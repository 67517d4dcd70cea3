"""Spike times off the grid (``setup(spike_precision="off_grid")``, the default): cells
spike at their interpolated threshold crossing, sources at their own times, and every
spike arrives at its time plus the delay, as in a converged (event-driven) reference."""

import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError

DT = 0.1
LIF = dict(tau_m=20.0, cm=1.0, v_thresh=-50.0, v_rest=-65.0, v_reset=-65.0,
           tau_refrac=2.0)


def _exact_lif_times(i_offset, n):
    """Spike times of the LIF above driven by a constant current from rest."""
    v_inf = LIF["v_rest"] + LIF["tau_m"] / LIF["cm"] * i_offset
    first = LIF["tau_m"] * np.log((v_inf - LIF["v_reset"]) / (v_inf - LIF["v_thresh"]))
    return first + np.arange(n) * (first + LIF["tau_refrac"])


def _dc_spikes(sim, currents, duration=100.0):
    cells = sim.Population(len(currents), sim.IF_curr_exp(i_offset=currents, **LIF))
    cells.initialize(v=LIF["v_rest"])
    cells.record("spikes")
    sim.run(duration)
    return [np.asarray(st.magnitude) for st in cells.get_data().segments[0].spiketrains]


def _setup(precision):
    import pyNN_ann
    pyNN_ann.setup(timestep=DT, spike_precision=precision)
    return pyNN_ann


@pytest.fixture(params=["off_grid", "on_grid"])
def any_precision(request):
    sim = _setup(request.param)
    yield request.param, sim
    sim.end()


def test_dc_spike_times_match_the_exact_lif(any_precision):
    precision, sim = any_precision
    currents = [0.8, 1.0, 2.0]
    for current, got in zip(currents, _dc_spikes(sim, currents)):
        exact = _exact_lif_times(current, len(got))
        assert len(got) >= 1
        if precision == "off_grid":  # the crossing within the step
            np.testing.assert_allclose(got, exact, atol=0.015)
        else:  # the grid point that ends the crossing's step
            np.testing.assert_allclose(got / DT, np.round(got / DT), atol=1e-6)
            assert np.all((got >= exact - 0.015) & (got <= exact + DT + 0.015))


def _psc(sim, spike_time, delay, tau=2.0, weight=0.01):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[spike_time]))
    post = sim.Population(1, sim.IF_cond_exp(tau_syn_E=tau))
    sim.Projection(src, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=weight, delay=delay))
    post.record("gsyn_exc")
    sim.run(30.0)
    g = post.get_data().segments[0].filter(name="gsyn_exc")[0]
    return np.asarray(g.times.rescale("ms")), np.asarray(g.magnitude)[:, 0]


def test_an_off_grid_arrival_follows_the_exact_kernel():
    sim = _setup("off_grid")
    arrival = 10.037 + 0.5
    t, g = _psc(sim, 10.037, 0.5)
    sim.end()
    after = t > arrival  # the first sample after it included
    exact = 0.01 * np.exp(-(t[after] - arrival) / 2.0)
    np.testing.assert_allclose(g[after], exact, atol=2e-5)  # 0.2 % of the weight
    assert np.all(g[t < arrival] == 0.0)
    charge = np.trapezoid(g, t)  # the arrival time is exact on average: so is the charge
    assert charge == pytest.approx(0.01 * 2.0 * (1 - np.exp(-(30.0 - arrival) / 2.0)),
                                   rel=0.01)


def test_an_off_grid_arrival_follows_even_a_kernel_as_short_as_the_step():
    """An arrival within a step is propagated exactly to the step's end (not split
    between the two grid points): with tau_syn = dt (PyNN's brunel.py) the alpha
    conductance at every grid point after it and the membrane's response are those of
    the continuous-time kernel."""
    sim = _setup("off_grid")
    tau, weight, arrival = 0.1, 0.01, 10.037 + 0.5
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.037]))
    cond = sim.Population(1, sim.IF_cond_alpha(tau_syn_E=tau))
    curr = sim.Population(1, sim.IF_curr_alpha(tau_syn_E=tau, tau_m=20.0, cm=1.0,
                                                v_rest=-65.0, v_thresh=-50.0))
    for post, w in ((cond, weight), (curr, 1.0)):
        sim.Projection(src, post, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=w, delay=0.5))
    cond.record("gsyn_exc")
    curr.record("v")
    sim.run(15.0)
    g = cond.get_data().segments[0].filter(name="gsyn_exc")[0]
    v = np.asarray(curr.get_data().segments[0].filter(name="v")[0].magnitude)[:, 0]
    sim.end()
    t, g = np.asarray(g.times.rescale("ms")), np.asarray(g.magnitude)[:, 0]
    u = t - arrival
    exact = np.where(u > 0, weight * np.e / tau * u * np.exp(-np.maximum(u, 0) / tau), 0.0)
    np.testing.assert_allclose(g, exact, atol=1e-3 * weight)
    # v of the current-based cell: cm dv/dt = (v_rest - v) cm / tau_m + I(t), integrated
    # finely with the exact alpha current (1 nA peak)
    fine = 1e-4
    tt = np.arange(0.0, 15.0 + fine / 2, fine)
    uu = tt - arrival
    current = np.where(uu > 0, np.e / tau * uu * np.exp(-np.maximum(uu, 0) / tau), 0.0)
    vv = np.empty_like(tt)
    vv[0] = -65.0
    for i in range(1, len(tt)):  # exponential Euler, exact for the leak
        vv[i] = -65.0 + (vv[i - 1] + 65.0) * np.exp(-fine / 20.0) + current[i - 1] * fine
    grid = np.round(t / fine).astype(int)
    peak = vv.max() + 65.0
    np.testing.assert_allclose(v, vv[grid], atol=0.01 * peak)


def test_on_grid_arrivals_keep_the_grid():
    sim = _setup("on_grid")
    t, g = _psc(sim, 10.037, 0.5)
    sim.end()
    arrival = 10.0 + 0.5  # the source's step, then the delay
    after = t > arrival
    np.testing.assert_allclose(g[after], 0.01 * np.exp(-(t[after] - arrival) / 2.0),
                               atol=1e-6)


def test_a_cell_spike_arrives_at_its_time_plus_the_delay():
    sim = _setup("off_grid")
    pre = sim.Population(1, sim.IF_curr_exp(i_offset=1.0, **LIF))
    pre.initialize(v=LIF["v_rest"])
    post = sim.Population(1, sim.IF_cond_exp(tau_syn_E=5.0))
    sim.Projection(pre, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.02, delay=1.0))
    pre.record("spikes")
    post.record("gsyn_exc")
    sim.run(40.0)
    spike = float(pre.get_data().segments[0].spiketrains[0].magnitude[0])
    g = post.get_data().segments[0].filter(name="gsyn_exc")[0]
    sim.end()
    t, g = np.asarray(g.times.rescale("ms")), np.asarray(g.magnitude)[:, 0]
    arrival = spike + 1.0
    assert abs(spike - _exact_lif_times(1.0, 1)[0]) < 0.015
    window = (t > arrival) & (t < arrival + 20.0)
    np.testing.assert_allclose(g[window], 0.02 * np.exp(-(t[window] - arrival) / 5.0),
                               atol=2e-5)


@pytest.mark.parametrize("precision", ["off_grid", "on_grid"])
def test_an_array_source_with_two_spikes_in_one_step_delivers_both(precision):
    """Spikes 0.03 ms apart (one step at dt 0.1) from one source act as from two
    sources, and both are recorded at their given times."""
    sim = _setup(precision)
    times = [10.02, 10.05]
    one = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    two = sim.Population(2, sim.SpikeSourceArray(spike_times=[[t] for t in times]))
    post = sim.Population(2, sim.IF_cond_exp(tau_syn_E=2.0))
    for src, connector in ((one, sim.FromListConnector([(0, 0)])),
                           (two, sim.FromListConnector([(0, 1), (1, 1)]))):
        sim.Projection(src, post, connector, sim.StaticSynapse(weight=0.01, delay=0.5))
    one.record("spikes")
    post.record("gsyn_exc")
    sim.run(20.0)
    block_one, block_post = one.get_data(), post.get_data()
    sim.end()
    np.testing.assert_allclose(block_one.segments[0].spiketrains[0].magnitude, times)
    g = np.asarray(block_post.segments[0].filter(name="gsyn_exc")[0].magnitude)
    np.testing.assert_allclose(g[:, 0], g[:, 1], atol=1e-7)
    assert g[:, 0].max() == pytest.approx(0.02, rel=0.05)  # two arrivals, not one


def _poisson_times(size, run, **parameters):
    """All spike times of ``size`` recorded off-grid Poisson sources over ``run`` ms."""
    sim = _setup("off_grid")
    src = sim.Population(size, sim.SpikeSourcePoisson(**parameters))
    src.record("spikes")
    sim.run(run)
    times = np.concatenate([st.magnitude for st in src.get_data().segments[0].spiketrains])
    sim.end()
    return times


def test_poisson_spikes_lie_anywhere_within_their_steps():
    times = _poisson_times(20, 1100.0, rate=200.0, start=5.0, duration=1000.0)
    expected = 20 * 200.0 * 1.0
    assert abs(len(times) - expected) < 5 * np.sqrt(expected)
    assert times.min() >= 5.0 and times.max() < 1005.0  # within [start, start + duration)
    within = times / DT - np.floor(times / DT)  # position within the step
    assert abs(within.mean() - 0.5) < 0.03
    assert np.histogram(within, bins=4, range=(0, 1))[0].min() > 0.2 * len(times)


def test_poisson_sources_off_the_grid_keep_start_and_stop_between_grid_points():
    times = _poisson_times(200, 10.0, rate=2000.0, start=3.03, duration=2.0)
    assert times.min() >= 3.03 and times.max() < 5.03
    expected = 200 * 2000.0 * 2.0 / 1000.0  # the partial first and last steps included
    assert abs(len(times) - expected) < 5 * np.sqrt(expected)


def test_voltage_jumps_land_on_the_nearest_grid_point():
    """Delta synapses cannot be split between two steps: a jump takes the grid point
    nearest its arrival (v is recorded just before the jumps at each grid point)."""
    sim = _setup("off_grid")
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.02, 20.07]))
    post = sim.Population(1, sim.IF_curr_delta(tau_refrac=0.0))
    sim.Projection(src, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=2.0, delay=1.0))
    post.record("v")
    sim.run(30.0)
    v = np.asarray(post.get_data().segments[0].filter(name="v")[0].magnitude)[:, 0]
    sim.end()
    rise = np.flatnonzero(np.diff(v) > 1.0) * DT  # the grid point of each jump
    np.testing.assert_allclose(rise, [11.0, 21.1], atol=1e-6)


def test_unknown_spike_precision_is_refused():
    import pyNN_ann
    with pytest.raises(InvalidParameterValueError, match="off_grid"):
        pyNN_ann.setup(timestep=DT, spike_precision="exact")


def test_a_poisson_source_may_emit_several_spikes_per_step():
    """PyNN's brunel.py drives each cell with a 20-kHz SpikeSourcePoisson: two spikes
    per 0.1-ms step. Every one is recorded (at its own time) and delivered."""
    sim = _setup("off_grid")
    src = sim.Population(4, sim.SpikeSourcePoisson(rate=20000.0))
    post = sim.Population(4, sim.IF_cond_exp(tau_syn_E=5.0, v_thresh=1000.0))
    sim.Projection(src, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.001, delay=0.1))
    src.record("spikes")
    post.record("gsyn_exc")
    sim.run(50.0)
    seg = src.get_data().segments[0]
    g = np.asarray(post.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude)
    sim.end()
    trains = [np.asarray(st.magnitude) for st in seg.spiketrains]
    expected = 20000.0 * 50.0 / 1000.0
    for t in trains:
        assert abs(len(t) - expected) < 5 * np.sqrt(expected)
        assert np.all(np.diff(t) >= 0) and len(np.unique(np.floor(t / DT))) < len(t)
    # steady-state conductance: rate x weight x tau_syn
    assert g[200:].mean() == pytest.approx(20.0 * 0.001 * 5.0, rel=0.05)  # 4 cells x 30 ms


def test_a_poisson_source_beyond_what_a_step_can_hold_is_reported():
    from pyNN_ann.surrogates.registry import InputRangeWarning
    sim = _setup("off_grid")
    sim.Population(1, sim.SpikeSourcePoisson(rate=600000.0)).record("spikes")
    with pytest.warns(InputRangeWarning, match=r"600000 Hz.*some are lost"):
        sim.run(1.0)
    sim.end()


def test_poisson_counts_per_step_have_a_poisson_distribution():
    """The counts are Poisson (variance = mean, several spikes per step possible), not
    one Bernoulli draw per step; the host path draws exactly what the loop draws."""
    from pyNN_ann.engine import poisson
    steps = np.arange(1, 50001)
    for lam in (0.1, 2.0):
        terms = poisson.terms_for(lam)
        ones = np.ones(len(steps))
        count, _, _, emitted = poisson.step(
            7, steps, np.zeros(len(steps), np.int64), np.float32(lam) * ones.astype(np.float32),
            0 * ones, 0 * ones, 1e9 * ones, 0 * ones, terms, True)
        count = np.asarray(count)
        assert count.mean() == pytest.approx(lam, rel=0.03)
        assert count.var() == pytest.approx(lam, rel=0.05)
        assert np.array_equal(count, np.asarray(emitted).sum(axis=1))
    assert poisson.terms_for(0.1) < poisson.terms_for(2.0) <= poisson.MAX_TERMS


def _bent_cell(arrival):
    """One IF_curr_exp cell charging under a constant current, exactly at threshold at
    10.05 ms (1 mV/ms), hit by a strong inhibitory arrival at ``arrival`` that turns it
    down within the same step: both ends of the step stay below threshold."""
    v_rest, tau_m, v_inf = -65.0, 20.0, -30.0
    threshold = v_inf + (v_rest - v_inf) * np.exp(-10.05 / tau_m)
    sim = _setup("off_grid")
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[arrival - DT]))
    cell = sim.Population(1, sim.IF_curr_exp(
        tau_m=tau_m, cm=1.0, v_rest=v_rest, v_reset=v_rest, v_thresh=threshold,
        tau_refrac=2.0, tau_syn_I=5.0, i_offset=(v_inf - v_rest) / tau_m))
    cell.initialize(v=v_rest)
    sim.Projection(src, cell, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=-3.0, delay=DT), receptor_type="inhibitory")
    cell.record(["spikes", "v"])
    sim.run(10.5)
    seg = cell.get_data().segments[0]
    v = np.asarray(seg.filter(name="v")[0].magnitude)[:, 0]
    spikes = np.asarray(seg.spiketrains[0].magnitude)
    sim.end()
    return spikes, v, threshold


@pytest.mark.parametrize("arrival", [10.03, 10.07])
def test_a_crossing_inside_a_step_whose_ends_stay_below_threshold(arrival):
    spikes, v, threshold = _bent_cell(arrival)
    assert v[100] < threshold - 0.04 and v[101] < threshold  # the step 10.0 -> 10.1
    if arrival < 10.05:  # turned down before it got there: no spike
        assert len(spikes) == 0
    else:  # crossed at 10.05, 0.02 ms before the inhibition arrived
        assert len(spikes) == 1 and spikes[0] == pytest.approx(10.05, abs=0.003)


def test_grazing_rule_follows_a_parabola_and_a_bend():
    from pyNN_ann.engine.cell_rules import grazing_crossing
    thr, c = -50.0, 4.0  # v = thr + h - c (t - t0)^2 within one 0.1-ms step
    for h, t0 in ((0.002, 0.05), (-0.002, 0.05), (0.001, 0.07)):
        v = lambda t: thr + h - c * (t - t0) ** 2  # noqa: E731
        dv = lambda t: -2 * c * (t - t0)  # noqa: E731
        crossed, s = grazing_crossing(np.array([v(0)]), np.array([v(DT)]),
                                      np.array([dv(0) * DT]), np.array([dv(DT) * DT]), thr)
        assert crossed[0] == (h > 0)
        if h > 0:
            assert s[0] * DT == pytest.approx(t0 - np.sqrt(h / c), abs=1e-6)
    # a rising line bent down by inhibition at 60 % of the step: it crossed at 50 %
    crossed, s = grazing_crossing(np.array([-50.01]), np.array([-50.05]), np.array([0.02]),
                                  np.array([-0.1]), thr, turn_at=np.array([0.6]))
    assert crossed[0] and s[0] == pytest.approx(0.5)
    crossed, _ = grazing_crossing(np.array([-50.01]), np.array([-50.05]), np.array([0.02]),
                                  np.array([-0.1]), thr, turn_at=np.array([0.4]))
    assert not crossed[0]
