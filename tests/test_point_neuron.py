"""The composed cell type PointNeuron(LIF | AdExp, **receptors): exact receptor
kernels, equivalence with the monolithic types, parameters, recording and errors."""

import numpy as np
import pytest
from pyNN.errors import ConnectionError, InvalidModelError, InvalidParameterValueError

from pyNN_ann.engine import cell_rules

DT = 0.1


def _kernel(shape, t, tau=None, tau_rise=None):
    """Analytic response to a spike of weight 1 at t = 0, sampled at t > 0."""
    t = np.asarray(t, dtype=float)
    if shape == "exp":
        k = np.exp(-t / tau)
    elif shape == "alpha":
        k = t / tau * np.exp(1.0 - t / tau)
    else:
        k = cell_rules.beta_peak_factor(tau_rise, tau) * (np.exp(-t / tau)
                                                          - np.exp(-t / tau_rise))
    return np.where(t > 1e-9, k, 0.0)


def _four_receptor_cell(sim, **neuron):
    return sim.PointNeuron(
        sim.LIF(**neuron),
        AMPA=sim.CondExpPostSynapticResponse(tau_syn=3.0, e_syn=0.0),
        NMDA=sim.CondAlphaPostSynapticResponse(tau_syn=12.0, e_syn=0.0),
        GABAA=sim.CondBetaPostSynapticResponse(tau_rise=0.5, tau_decay=4.0, e_syn=-70.0),
        GABAB=sim.CondAlphaPostSynapticResponse(tau_syn=30.0, e_syn=-90.0))


SHAPES = {"AMPA": ("exp", 3.0, None), "NMDA": ("alpha", 12.0, None),
          "GABAA": ("beta", 4.0, 0.5), "GABAB": ("alpha", 30.0, None)}


def test_receptor_conductances_follow_exact_kernels(sim):
    """Four receptors (exp, alpha, beta, alpha) driven by known spike trains: each
    recorded conductance is the analytic sum of its kernels at every sample."""
    cell = sim.Population(1, _four_receptor_cell(sim, v_thresh=-40.0))
    times = {"AMPA": [10.0, 13.3], "NMDA": [20.0, 50.0], "GABAA": [5.0, 6.0, 40.0],
             "GABAB": [30.0]}
    weights = {"AMPA": 0.004, "NMDA": 0.002, "GABAA": 0.01, "GABAB": 0.003}
    delay = 1.5
    for name, spikes in times.items():
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=spikes))
        sim.Projection(src, cell, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=weights[name], delay=delay),
                       receptor_type=name)
    cell.record([f"{name}.gsyn" for name in times] + ["v"])
    sim.run(120.0)
    seg = cell.get_data().segments[0]
    t = np.arange(0, 1201) * DT
    for name, spikes in times.items():
        shape, tau, rise = SHAPES[name]
        sig = seg.filter(name=f"{name}.gsyn")[0]
        assert str(sig.units.dimensionality) == "uS"
        expected = sum(weights[name] * _kernel(shape, t - s - delay, tau, rise)
                       for s in spikes)
        np.testing.assert_allclose(sig.magnitude[:, 0], expected, rtol=2e-5,
                                   atol=1e-6 * weights[name])
    # a peak of w for a single event, as PyNN's alpha and NEST's beta normalisation
    gabaa = seg.filter(name="GABAA.gsyn")[0].magnitude[:, 0]
    assert abs(gabaa[int(round(41.5 / DT)):].max() - weights["GABAA"]) < 2e-3 * weights["GABAA"]
    v = seg.filter(name="v")[0].magnitude[:, 0]
    assert v[int(round(12.5 / DT))] > v[int(round(11.5 / DT))] + 0.1  # AMPA depolarises
    assert v[int(round(7.5 / DT))] < -65.0  # GABAA (e_syn -70) hyperpolarises


def _drive_both(sim, pops, seed=3, rate=4000.0, w_exc=0.006, w_inh=0.02):
    exc = sim.Population(len(pops[0]), sim.SpikeSourcePoisson(rate=rate))
    inh = sim.Population(len(pops[0]), sim.SpikeSourcePoisson(rate=rate / 4))
    for pop in pops:
        sim.Projection(exc, pop, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=w_exc, delay=1.0), receptor_type="excitatory")
        sim.Projection(inh, pop, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=w_inh, delay=1.0), receptor_type="inhibitory")
        pop.record(["spikes", "v"])


@pytest.mark.parametrize("monolith,neuron,psr,extra", [
    ("IF_cond_exp", "LIF", "CondExpPostSynapticResponse", {}),
    ("EIF_cond_alpha_isfa_ista", "AdExp", "CondAlphaPostSynapticResponse",
     {"a": 2.0, "b": 0.05, "delta_T": 2.0, "v_spike": -40.0}),
])
def test_composed_equals_monolithic(sim, monolith, neuron, psr, extra):
    """PointNeuron(LIF, excitatory=CondExpPSR, inhibitory=CondExpPSR) gives the same
    spikes and v as IF_cond_exp (same surrogate, same kernels); AdExp with alpha
    receptors as EIF_cond_alpha_isfa_ista."""
    common = dict(tau_m=15.0, v_rest=-65.0, v_thresh=-52.0, v_reset=-68.0, cm=0.5,
                  tau_refrac=2.0, i_offset=0.1, **extra)
    mono = sim.Population(10, getattr(sim, monolith)(
        tau_syn_E=2.0, tau_syn_I=6.0, e_rev_E=0.0, e_rev_I=-75.0, **common))
    P = getattr(sim, psr)
    comp = sim.Population(10, sim.PointNeuron(
        getattr(sim, neuron)(**common),
        excitatory=P(tau_syn=2.0, e_syn=0.0), inhibitory=P(tau_syn=6.0, e_syn=-75.0)))
    _drive_both(sim, [mono, comp])
    sim.run(400.0)
    a, b = (p.get_data().segments[0] for p in (mono, comp))
    counts = [len(s) for s in a.spiketrains]
    assert sum(counts) > 20
    for s1, s2 in zip(a.spiketrains, b.spiketrains):
        np.testing.assert_allclose(s1.magnitude, s2.magnitude)
    # same columns and inputs; only float rounding may differ between vector lanes of
    # the compiled exp (one cell of 20 by up to 3e-4 mV on an AdExp upstroke)
    np.testing.assert_allclose(a.filter(name="v")[0].magnitude,
                               b.filter(name="v")[0].magnitude, atol=1e-3)


def test_standard_population_unchanged_by_many_receptor_cells(sim):
    """Adding a four-receptor PointNeuron to a network (four synaptic channels in the
    loop) leaves an IF_cond_exp population's results exactly as they were."""
    def run(with_composed):
        sim.setup(timestep=DT)
        pop = sim.Population(5, sim.IF_cond_exp(tau_syn_E=2.0))
        _drive_both(sim, [pop])
        if with_composed:
            comp = sim.Population(3, _four_receptor_cell(sim))
            src = sim.Population(3, sim.SpikeSourcePoisson(rate=500.0))
            sim.Projection(src, comp, sim.OneToOneConnector(),
                           sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="GABAB")
        sim.run(200.0)
        seg = pop.get_data().segments[0]
        return seg.filter(name="v")[0].magnitude, [s.magnitude for s in seg.spiketrains]
    v1, s1 = run(False)
    v2, s2 = run(True)
    np.testing.assert_array_equal(v1, v2)
    for a, b in zip(s1, s2):
        np.testing.assert_array_equal(a, b)


def test_current_receptors_record_isyn(sim):
    """CurrExpPostSynapticResponse: isyn in nA with the sign of the weights, an exact
    exponential; v as IF_curr_exp's."""
    ct = sim.PointNeuron(sim.LIF(tau_m=10.0, v_rest=-60.0),
                         excitatory=sim.CurrExpPostSynapticResponse(tau_syn=1.0),
                         inhibitory=sim.CurrExpPostSynapticResponse(tau_syn=2.0))
    assert not ct.conductance_based
    assert ct.recordable == ["spikes", "v", "excitatory.isyn", "inhibitory.isyn"]
    pop = sim.Population(1, ct, initial_values={"v": -60.0})
    mono = sim.Population(1, sim.IF_curr_exp(tau_m=10.0, v_rest=-60.0, tau_syn_E=1.0,
                                             tau_syn_I=2.0), initial_values={"v": -60.0})
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[30.0], [120.0]]))
    for p in (pop, mono):
        sim.Projection(src[0:1], p, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.5, delay=1.5), receptor_type="excitatory")
        sim.Projection(src[1:2], p, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=-0.2, delay=1.5), receptor_type="inhibitory")
    pop.record(["v", "excitatory.isyn", "inhibitory.isyn"])
    mono.record("v")
    sim.run(200.0)
    seg = pop.get_data().segments[0]
    t = np.arange(2001) * DT
    exc = seg.filter(name="excitatory.isyn")[0]
    assert str(exc.units.dimensionality) == "nA"
    np.testing.assert_allclose(exc.magnitude[:, 0], 0.5 * _kernel("exp", t - 31.5, 1.0),
                               rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(seg.filter(name="inhibitory.isyn")[0].magnitude[:, 0],
                               -0.2 * _kernel("exp", t - 121.5, 2.0), rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(seg.filter(name="v")[0].magnitude,
                               mono.get_data().segments[0].filter(name="v")[0].magnitude,
                               atol=1e-4)


def test_parameters_nested_and_dotted(sim):
    pop = sim.Population(3, _four_receptor_cell(sim, tau_m=12.0))
    assert pop.get("tau_m") == 12.0
    assert pop.get("GABAB.e_syn") == -90.0
    assert pop.get(["AMPA.tau_syn", "GABAA.tau_rise"]) == [3.0, 0.5]
    pop.set(AMPA={"tau_syn": [1.0, 2.0, 4.0]}, tau_m=20.0)
    np.testing.assert_allclose(pop.get("AMPA.tau_syn"), [1.0, 2.0, 4.0])
    pop[1:2].set(**{"GABAA.tau_decay": 8.0})
    np.testing.assert_allclose(pop.get("GABAA.tau_decay"), [4.0, 8.0, 4.0])
    assert pop.get("tau_m") == 20.0
    # the kernels follow the new values: AMPA decays with each cell's tau_syn
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    sim.Projection(src, pop, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.001, delay=1.0), receptor_type="AMPA")
    pop.record("AMPA.gsyn")
    sim.run(30.0)
    g = pop.get_data().segments[0].filter(name="AMPA.gsyn")[0].magnitude
    t = np.arange(301) * DT
    for i, tau in enumerate([1.0, 2.0, 4.0]):
        np.testing.assert_allclose(g[:, i], 0.001 * _kernel("exp", t - 11.0, tau),
                                   rtol=2e-5, atol=1e-9)
    with pytest.raises(KeyError):
        pop.set(AMPA={"tau_rise": 1.0})  # not a parameter of an exponential receptor


def test_initial_receptor_conductance(sim):
    pop = sim.Population(2, _four_receptor_cell(sim), initial_values={"v": -60.0})
    pop.initialize(**{"AMPA.gsyn": [0.01, 0.02]})
    pop.record(["AMPA.gsyn", "v"])
    sim.run(10.0)
    g = pop.get_data().segments[0].filter(name="AMPA.gsyn")[0].magnitude
    t = np.arange(101) * DT
    np.testing.assert_allclose(g, np.outer(np.exp(-t / 3.0), [0.01, 0.02]), rtol=2e-5)
    v = pop.get_data().segments[0].filter(name="v")[0].magnitude
    assert v[0, 0] == pytest.approx(-60.0) and v[-1, 1] > v[-1, 0]  # more excitation
    sim.reset()
    sim.run(1.0)
    g = pop.get_data().segments[0].filter(name="AMPA.gsyn")[0].magnitude
    np.testing.assert_allclose(g[0], [0.01, 0.02], rtol=1e-6)  # kept over reset()


def test_bad_receptor_names_raise_connection_error(sim):
    pop = sim.Population(1, _four_receptor_cell(sim))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    assert pop.celltype.receptor_types == ["AMPA", "GABAA", "GABAB", "NMDA"]
    for bad in ("excitatory", "GABAC", "AMPA.gsyn"):
        with pytest.raises(ConnectionError):
            sim.Projection(src, pop, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type=bad)


@pytest.mark.parametrize("make", [
    lambda sim: sim.PointNeuron(sim.LIF(tau_m=500.0), AMPA=sim.ExpPSR()),
    lambda sim: sim.PointNeuron(sim.AdExp(delta_T=20.0), AMPA=sim.AlphaPSR()),
    lambda sim: sim.PointNeuron(sim.LIF(), AMPA=sim.ExpPSR(tau_syn=100.0)),
    lambda sim: sim.PointNeuron(sim.LIF(), A=sim.ExpPSR(), B=sim.ExpPSR(),
                                C=sim.BetaPSR(tau_rise=0.01)),
])
def test_out_of_domain_parameters_are_refused(sim, make):
    with pytest.raises(InvalidParameterValueError, match="outside the domain"):
        sim.Population(2, make(sim))


def test_out_of_domain_set_is_refused_and_leaves_values(sim):
    pop = sim.Population(2, _four_receptor_cell(sim))
    with pytest.raises(InvalidParameterValueError, match="outside the domain"):
        pop.set(NMDA={"tau_syn": 80.0})
    assert pop.get("NMDA.tau_syn") == 12.0


def test_unsupported_compositions(sim):
    with pytest.raises(NotImplementedError, match="Izhikevich"):
        sim.PointNeuron(sim.Izhikevich(), AMPA=sim.ExpPSR())
    with pytest.raises(InvalidModelError, match="mix"):
        sim.PointNeuron(sim.LIF(), AMPA=sim.ExpPSR(), I=sim.CurrExpPostSynapticResponse())


def test_one_and_no_receptors(sim):
    """A single receptor (channel 1 unused) and a receptor-less LIF driven by current."""
    one = sim.Population(1, sim.PointNeuron(sim.LIF(), NMDA=sim.AlphaPSR(tau_syn=10.0)))
    none = sim.Population(1, sim.PointNeuron(sim.LIF(tau_m=10.0)))
    assert none.celltype.receptor_types == [] and not none.celltype.conductance_based
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    sim.Projection(src, one, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="NMDA")
    with pytest.raises(ConnectionError):
        sim.Projection(src, none, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="NMDA")
    sim.DCSource(amplitude=2.0, start=10.0, stop=40.0).inject_into(none)
    for p in (one, none):
        p.record(["spikes", "v"])
    one.record("NMDA.gsyn")
    sim.run(50.0)
    g = one.get_data().segments[0].filter(name="NMDA.gsyn")[0].magnitude[:, 0]
    t = np.arange(501) * DT
    np.testing.assert_allclose(g, 0.01 * _kernel("alpha", t - 6.0, 10.0), rtol=2e-5,
                               atol=1e-9)
    assert len(none.get_data().segments[0].spiketrains[0]) > 0  # 2 nA: it fires
