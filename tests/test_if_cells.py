"""The integrate-and-fire family: seven PyNN types on the shared membrane surrogate,
with exact kernels, threshold, reset, refractory clamp and adaptation."""

import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError
from pyNN.random import NumpyRNG, RandomDistribution

from pyNN_ann.engine import cell_rules
from pyNN_ann.surrogates import if_family

IF_TYPES = if_family.CELLTYPES


def _drive(sim, pop, rate=3000.0, w_exc=None, w_inh=None, delay=1.0):
    cond = pop.celltype.conductance_based
    w_exc = w_exc if w_exc is not None else (0.01 if cond else 0.05)
    w_inh = w_inh if w_inh is not None else (0.02 if cond else -0.05)
    if type(pop.celltype).__name__ == "IF_curr_delta":
        w_exc, w_inh = 0.5, -0.5
    exc = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=rate))
    inh = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=rate / 4))
    sim.Projection(exc, pop, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=w_exc, delay=delay), receptor_type="excitatory")
    sim.Projection(inh, pop, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=w_inh, delay=delay), receptor_type="inhibitory")


@pytest.mark.parametrize("celltype", IF_TYPES)
def test_heterogeneous_population_fires_and_resets(sim, celltype):
    """Random parameters across one population; after every spike v sits at v_reset
    for tau_refrac, and it never exceeds v_thresh."""
    rng = NumpyRNG(seed=7)
    cls = getattr(sim, celltype)
    params = {"v_thresh": RandomDistribution("uniform", (-52.0, -48.0), rng=rng)}
    if "tau_m" in cls.default_parameters:
        params["tau_m"] = RandomDistribution("uniform", (10.0, 30.0), rng=rng)
        params["tau_refrac"] = 2.0
    if "tau_syn_E" in cls.default_parameters:
        params.update(tau_syn_E=5.0, tau_syn_I=5.0)
    pop = sim.Population(20, cls(**params))
    _drive(sim, pop, rate=6000.0)
    pop.record(["spikes", "v"])
    sim.run(500.0)
    seg = pop.get_data().segments[0]
    v = seg.filter(name="v")[0].magnitude
    thresholds = np.broadcast_to(pop.get("v_thresh"), (pop.size,))
    resets = np.broadcast_to(pop.get("v_reset"), (pop.size,))
    assert sum(len(st) for st in seg.spiketrains) > 20
    assert np.all(v <= thresholds[None, :] + 1e-4)
    refrac = 2.0 if "tau_m" in cls.default_parameters else 1.0
    for i, st in enumerate(seg.spiketrains):
        for t in np.asarray(st.magnitude):
            k = int(np.floor(t / 0.1 + 1e-6)) + 1  # the grid point ending the spike's step
            window = v[k:k + int(round(refrac / 0.1)), i]  # then released within a step
            np.testing.assert_allclose(window, resets[i], atol=1e-4)


def test_tau_m_outside_domain_is_refused(sim):
    with pytest.raises(InvalidParameterValueError, match="tau_m = 500"):
        sim.Population(3, sim.IF_cond_exp(tau_m=500.0))
    pop = sim.Population(3, sim.IF_curr_exp())
    with pytest.raises(InvalidParameterValueError, match=r"tau_syn_E .*\[0\.1, 40"):
        pop.set(tau_syn_E=0.05)


def test_set_between_runs_changes_firing(sim):
    pop = sim.Population(10, sim.IF_cond_exp(tau_refrac=2.0))
    _drive(sim, pop, rate=1500.0)
    pop.record("spikes")
    sim.run(500.0)
    first = sum(len(st) for st in pop.get_data().segments[0].spiketrains)
    pop.set(v_thresh=-25.0)
    sim.run(500.0)
    total = sum(len(st) for st in pop.get_data().segments[0].spiketrains)
    assert first > 10
    assert total - first < 0.5 * first


def test_alpha_and_exp_kernels_are_exact(sim):
    """One input spike: recorded conductances follow w t/tau e^(1 - t/tau) and
    w e^(-t/tau) at the grid points (arrival = spike + delay)."""
    a = sim.Population(1, sim.IF_cond_alpha(tau_syn_E=2.0))
    e = sim.Population(1, sim.IF_cond_exp(tau_syn_E=3.0))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    for post in (a, e):
        sim.Projection(src, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=1.5))
        post.record("gsyn_exc")
    sim.run(40.0)
    t = np.arange(401) * 0.1
    ga = a.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude[:, 0]
    ge = e.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude[:, 0]
    s = np.clip(t - 11.5, 0, None)
    np.testing.assert_allclose(ga, 0.01 * s / 2.0 * np.exp(1 - s / 2.0), atol=1e-6)
    # the engine records conductances after the step's decay (t_k + dt, before arrivals)
    expected = np.where(t >= 11.6 - 1e-9, 0.01 * np.exp(-(t - 11.5) / 3.0), 0.0)
    np.testing.assert_allclose(ge, expected, atol=1e-6)


def test_delta_synapse_jumps_v(sim):
    pop = sim.Population(1, sim.IF_curr_delta(tau_m=20.0, v_rest=-65.0, v_thresh=-50.0))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    sim.Projection(src, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=3.0, delay=1.0))
    pop.record("v")
    sim.run(20.0)
    v = pop.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    assert abs(v[59] + 65.0) < 0.1              # before arrival at 6 ms
    assert v[61] == pytest.approx(-62.0, abs=0.2)  # 3 mV jump
    assert v[61 + 200 // 2] < v[61]                # relaxes back



def test_delta_jump_across_threshold_fires_at_once(sim):
    """A jump that lifts v just past threshold fires at the arrival, as NEST's
    iaf_psc_delta does, even though the leak would pull v back below threshold
    within the same step (-49.85 mV relaxes by 0.3 mV per 0.1 ms here)."""
    pop = sim.Population(1, sim.IF_curr_delta(tau_m=5.0, v_rest=-65.0, v_thresh=-50.0,
                                              v_reset=-70.0, tau_refrac=2.0))
    pop.initialize(v=-65.0)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 5.1]))
    sim.Projection(src, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=7.65, delay=1.0))
    pop.record(["spikes", "v"])
    sim.run(20.0)
    seg = pop.get_data().segments[0]
    spikes = seg.spiketrains[0].magnitude
    assert len(spikes) == 1 and abs(spikes[0] - 6.1) <= 0.1 + 1e-9, spikes
    v = seg.filter(name="v")[0].magnitude[:, 0]
    assert v[63] == pytest.approx(-70.0, abs=1e-3)  # reset and clamped

def test_gsfa_grr_adaptation_conductances(sim):
    pop = sim.Population(2, sim.IF_cond_exp_gsfa_grr(q_sfa=10.0, tau_sfa=100.0,
                                                      q_rr=500.0, tau_rr=2.0, i_offset=1.5))
    pop.record(["spikes", "g_s", "g_r"])
    sim.run(300.0)
    seg = pop.get_data().segments[0]
    g_s = seg.filter(name="g_s")[0].magnitude
    g_r = seg.filter(name="g_r")[0].magnitude
    st = np.asarray(seg.spiketrains[0].magnitude)
    assert len(st) > 3
    k = int(np.floor(st[0] / 0.1 + 1e-6)) + 1
    # each jump happens at the spike's crossing time and has decayed until t_k
    since = k * 0.1 - st[0]
    for g, q, tau in ((g_s, 10.0, 100.0), (g_r, 500.0, 2.0)):
        expected = g[k - 1, 0] * np.exp(-0.1 / tau) + q * np.exp(-since / tau)
        assert g[k, 0] == pytest.approx(expected, rel=1e-4)
    isi = np.diff(st)
    assert isi[-1] > isi[0]  # spike-frequency adaptation
    # the training pipeline rebuilds both from the spike times as the engine does
    from pyNN_ann.surrogates.training.fit import spike_triggered
    for g, q, tau in ((g_s, 10.0, 100.0), (g_r, 500.0, 2.0)):
        np.testing.assert_allclose(spike_triggered(st, q, tau, len(g), 0.1), g[:, 0],
                                   rtol=1e-4, atol=1e-3)


def test_facets_hardware_parameters_round_trip(sim):
    pop = sim.Population(2, sim.IF_facets_hardware1(g_leak=20.0))
    np.testing.assert_allclose(pop.get("g_leak"), 20.0)
    pop.set(g_leak=50.0)
    np.testing.assert_allclose(pop.get("g_leak"), 50.0)
    eng = sim.simulator.state.engine
    np.testing.assert_allclose(eng.get_parameters(pop._engine_group, "tau_m"), 4.0)


def test_membrane_inputs_match_the_equation():
    """v_inf and rate: the membrane equation's steady state and rate constant."""
    p = {"cm": 0.5, "tau_m": 10.0, "v_rest": -65.0, "i_offset": 0.1, "e_rev_E": 0.0,
         "e_rev_I": -80.0, "e_rev_sfa": -75.0, "e_rev_rr": -70.0}
    v_inf, rate = if_family.membrane_inputs(0.02, 0.01, 5.0, 0.0, p, 1.0)
    g = 0.05 + 0.02 + 0.01 + 0.005
    i = 0.05 * -65 + 0.1 + 0.01 * -80 + 0.005 * -75
    assert v_inf == pytest.approx(i / g)
    assert rate == pytest.approx(g / 0.5)
    membrane = if_family.membrane_parameters("IF_curr_alpha", {
        "cm": 0.5, "tau_m": 10.0, "v_rest": -65.0, "i_offset": 0.1, "v_thresh": -50.0,
        "v_reset": -60.0, "tau_refrac": 2.0, "tau_syn_E": 2.0, "tau_syn_I": 5.0})
    cols = cell_rules.if_columns(membrane, ("current", "alpha"), 0.1)
    assert cols["tau_refrac"][0] == 2.0 and cols["conductance"][0] == 0.0
    assert cols["kick_x_E"][0] == pytest.approx(np.e / 2.0)


EIF_TYPES = if_family.EIF_CELLTYPES


@pytest.mark.parametrize("celltype", EIF_TYPES)
def test_eif_heterogeneous_population_spikes_resets_and_adapts(sim, celltype):
    """AdEx: spikes at v_spike, v = v_reset for tau_refrac, w jumps by b at each spike
    and decays with tau_w between spikes."""
    rng = NumpyRNG(seed=3)
    pop = sim.Population(10, getattr(sim, celltype)(
        tau_m=RandomDistribution("uniform", (8.0, 15.0), rng=rng), tau_refrac=2.0,
        a=2.0, b=0.05, tau_w=100.0, i_offset=0.8))
    pop.record(["spikes", "v", "w"])
    sim.run(400.0)
    seg = pop.get_data().segments[0]
    v = seg.filter(name="v")[0].magnitude
    w = seg.filter(name="w")[0].magnitude
    v_spike = pop.get("v_spike")
    assert np.all(v <= v_spike + 1e-4)
    for i, st in enumerate(seg.spiketrains):
        times = np.asarray(st.magnitude)
        assert len(times) > 3
        k = int(np.floor(times[0] / 0.1 + 1e-6)) + 1
        np.testing.assert_allclose(v[k:k + 20, i], pop.get("v_reset"), atol=1e-4)
        assert w[k, i] - w[k - 1, i] == pytest.approx(0.05, abs=0.01)
        isi = np.diff(times)
        assert isi[-1] > isi[0]  # spike-frequency adaptation


def test_eif_adaptation_follows_v_reset_after_the_crossing(sim):
    """tau_w dw/dt = a (v - v_rest) - w goes on through the spike and the refractory
    clamp (as in pyNN.neuron's AdExpIF): in the spike step w integrates v up to the
    crossing and v_reset after it; integrating the threshold over the whole step made
    w too large at every spike, which with a large a added up from spike to spike."""
    a, tau_w, dt = 60.0, 50.0, 0.1
    pop = sim.Population(1, sim.EIF_cond_exp_isfa_ista(
        a=a, b=0.0, tau_w=tau_w, i_offset=2.0, tau_refrac=5.0))
    pop.record(["spikes", "v", "w"])
    sim.run(100.0)
    seg = pop.get_data().segments[0]
    v = seg.filter(name="v")[0].magnitude[:, 0]
    w = seg.filter(name="w")[0].magnitude[:, 0]
    times = np.asarray(seg.spiketrains[0].magnitude)
    assert len(times) >= 3
    p = {k: pop.get(k) for k in ("v_rest", "v_reset", "v_spike")}
    d = np.exp(-dt / tau_w)
    for t in times[times < 90.0]:
        k = int(np.ceil(t / dt - 1e-6))  # the step k-1 -> k holds the crossing
        after = k - t / dt
        v_mean = (1 - after) * 0.5 * (v[k - 1] + p["v_spike"]) + after * p["v_reset"]
        expected = w[k - 1] * d + 1e-3 * a * (1 - d) * (v_mean - p["v_rest"])
        assert w[k] == pytest.approx(expected, abs=1e-6)
        clamp = slice(k + 1, k + 40)  # in the clamp: v_reset
        np.testing.assert_allclose(w[clamp], w[k:k + 39] * d + 1e-3 * a * (1 - d)
                                   * (p["v_reset"] - p["v_rest"]), atol=1e-6)


def test_eif_domain(sim):
    with pytest.raises(InvalidParameterValueError, match="delta_T = 0"):
        sim.Population(2, sim.EIF_cond_exp_isfa_ista(delta_T=0.0))
