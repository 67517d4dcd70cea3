"""Tests of the PyNN API of pyNN.ann (simulation control, populations, projections,
recording and Neo output, error handling).

Tests using the `hh_sim` fixture need the shipped HH_cond_exp surrogate and are
skipped while it does not exist.
"""

import neo
import numpy as np
import pytest
import quantities as pq
from pyNN import errors
from pyNN.parameters import Sequence

import pyNN_ann
from pyNN_ann.projections import check_delays
from pyNN_ann.simulator import state


# --- simulation control -------------------------------------------------------------

def test_setup_and_state_queries():
    sim = pyNN_ann
    assert sim.setup(timestep=0.1) == 0
    assert sim.get_time_step() == 0.1
    assert sim.get_min_delay() == 0.1          # "auto" means one time step
    assert sim.get_current_time() == 0.0
    assert sim.num_processes() == 1
    assert sim.rank() == 0
    sim.setup(timestep=0.05, min_delay=0.5, max_delay=10.0, use_cvode=False, rng_seed=3)
    assert sim.get_time_step() == 0.05
    assert sim.get_min_delay() == 0.5
    assert sim.get_max_delay() == 10.0
    sim.setup(timestep=0.1, min_delay="auto")
    assert sim.get_min_delay() == 0.1
    sim.end()


def test_setup_rejects_min_delay_below_timestep():
    with pytest.raises(Exception, match="min_delay"):
        pyNN_ann.setup(timestep=0.1, min_delay=0.05)


def test_run_run_until_reset(sim):
    sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    assert sim.run(10.0) == pytest.approx(10.0)
    assert sim.get_current_time() == pytest.approx(10.0)
    assert sim.run_until(25.0) == pytest.approx(25.0)
    assert sim.run_for(5.0) == pytest.approx(30.0)
    with pytest.raises(ValueError):
        sim.run_until(10.0)
    sim.reset()
    assert sim.get_current_time() == 0.0
    assert state.segment_counter == 1


def test_run_with_callbacks(sim):
    sim.Population(1, sim.SpikeSourcePoisson(rate=10.0))
    seen = []

    def every_5ms(t):
        seen.append(t)
        return t + 5.0

    sim.run(20.0, callbacks=[every_5ms])
    assert np.allclose(seen, [0.0, 5.0, 10.0, 15.0, 20.0])


def test_list_standard_models_and_unavailable_models(sim):
    assert sorted(sim.list_standard_models()) == [
        "EIF_cond_alpha_isfa_ista", "EIF_cond_exp_isfa_ista", "GIF_cond_exp", "HH_cond_exp",
        "IF_cond_alpha", "IF_cond_exp", "IF_cond_exp_gsfa_grr", "IF_curr_alpha",
        "IF_curr_delta", "IF_curr_exp", "IF_facets_hardware1", "SpikeSourceArray",
        "SpikeSourceGamma", "SpikeSourceInhGamma", "SpikeSourcePoisson",
        "SpikeSourcePoissonRefractory"]
    with pytest.raises(NotImplementedError, match="no trained surrogate for Izhikevich"):
        sim.Izhikevich()
    with pytest.raises(NotImplementedError, match="SimpleStochasticSynapse"):
        sim.SimpleStochasticSynapse()
    assert sim.HH_cond_exp.surrogate == "HH_cond_exp"


# --- populations ------------------------------------------------------------------

def test_unknown_parameter_raises(sim):
    with pytest.raises(errors.NonExistentParameterError):
        sim.HH_cond_exp(tau_m=10.0)
    with pytest.raises(errors.NonExistentParameterError):
        sim.SpikeSourcePoisson(foo=1.0)
    p = sim.Population(3, sim.SpikeSourcePoisson())
    with pytest.raises(errors.NonExistentParameterError):
        p.set(foo=2.0)


def test_population_set_get(sim):
    p = sim.Population(4, sim.SpikeSourcePoisson(rate=[1.0, 2.0, 3.0, 4.0], start=5.0))
    assert np.allclose(p.get("rate"), [1, 2, 3, 4])
    assert p.get("start") == 5.0                      # homogeneous -> single value
    p.set(rate=20.0)
    assert p.get("rate") == 20.0
    rng = sim.NumpyRNG(seed=7)
    p.set(duration=sim.RandomDistribution("uniform", (100.0, 200.0), rng=rng))
    duration = p.get("duration")
    assert duration.shape == (4,) and ((duration >= 100) & (duration <= 200)).all()
    p.set(start=lambda i: 10.0 * i)
    assert np.allclose(p.get("start"), [0, 10, 20, 30])
    # engine sees the same values
    gid = p._engine_group
    assert np.allclose(state.engine.get_parameters(gid, "start"), [0, 10, 20, 30])
    assert np.allclose(state.engine.get_parameters(gid, "rate"), 20.0)
    rate, start = p.get(["rate", "start"], gather=True, simplify=False)
    assert np.allclose(rate, 20.0) and rate.shape == (4,)


def test_population_view_indexing_set_get(sim):
    p = sim.Population(6, sim.SpikeSourcePoisson(rate=1.0), label="P")
    view = p[1:5:2]
    assert view.size == 2
    assert list(view.all_cells) == [p[1], p[3]]
    assert view.parent is p
    view.set(rate=50.0)
    assert np.allclose(p.get("rate"), [1, 50, 1, 50, 1, 1])
    assert view.get("rate") == 50.0
    assert np.allclose(state.engine.get_parameters(p._engine_group, "rate"),
                       [1, 50, 1, 50, 1, 1])
    view_of_view = p[[0, 2, 4, 5]][1:3]
    view_of_view.set(rate=[7.0, 8.0])
    assert np.allclose(p.get("rate"), [1, 50, 7, 50, 8, 1])
    assert p[0].rate == 1.0
    p[5].rate = 9.0
    assert p.get("rate")[5] == 9.0
    mask = np.array([True, False, False, False, False, True])
    assert np.allclose(p[mask].get("rate"), [1.0, 9.0])


def test_sample_and_assembly(sim):
    p = sim.Population(10, sim.SpikeSourcePoisson(rate=5.0), label="A")
    q = sim.Population(5, sim.SpikeSourceArray(), label="B")
    s = p.sample(4, rng=sim.NumpyRNG(seed=1))
    assert s.size == 4 and s.parent is p
    assert len(set(s.all_cells)) == 4
    a = p + q
    assert isinstance(a, sim.Assembly)
    assert a.size == 15
    assert a[12] == q[2]
    a2 = a + p[0:2]          # a view of a population already in the assembly is refused
    assert a2.size == 15
    sub = a[8:12]
    assert sub.size == 4
    assert a.sample(3, rng=sim.NumpyRNG(seed=2)).size == 3


def test_spike_source_array_parameters(sim):
    p = sim.Population(3, sim.SpikeSourceArray(spike_times=[[5.0, 10.0], [7.0], []]))
    times = p.get("spike_times")
    assert [list(t.value) for t in times] == [[5.0, 10.0], [7.0], []]
    p[1:].set(spike_times=[Sequence([1.0]), Sequence([2.0, 3.0])])
    assert [list(t.value) for t in p.get("spike_times")] == [[5.0, 10.0], [1.0], [2.0, 3.0]]


def test_spike_source_array_spikes_recorded_at_given_times(sim):
    times = [[1.0, 5.5, 12.3], [0.5], [], [19.9]]
    p = sim.Population(4, sim.SpikeSourceArray(spike_times=times), label="ssa")
    p.record("spikes")
    sim.run(20.0)
    trains = p.get_data().segments[0].spiketrains
    assert len(trains) == 4
    for train, expected in zip(trains, times):
        assert train.units == pq.ms
        assert np.allclose(train.magnitude, expected, atol=0.05 + 1e-9)
    counts = p.get_spike_counts()
    assert [counts[id] for id in p.all_cells] == [3, 1, 0, 1]
    assert p.mean_spike_count() == pytest.approx(1.25)


def test_spike_source_poisson_rate(sim):
    sim.setup(timestep=0.1, rng_seed=12345)
    p = sim.Population(200, sim.SpikeSourcePoisson(rate=40.0, start=100.0, duration=500.0))
    p.record("spikes")
    sim.run(1000.0)
    trains = p.get_data().segments[0].spiketrains
    all_times = np.concatenate([t.magnitude for t in trains])
    rate = all_times.size / (200 * 0.5)                 # spikes per cell per second
    assert 36.0 < rate < 44.0
    assert all_times.min() >= 100.0 and all_times.max() <= 600.0 + 1e-9


def test_unknown_recordable_raises(sim):
    p = sim.Population(2, sim.SpikeSourcePoisson())
    with pytest.raises(errors.RecordingError):
        p.record("v")
    with pytest.raises(errors.RecordingError):
        p.record(["spikes", "foo"])


# --- Neo output ------------------------------------------------------------------

def test_spike_neo_structure_and_segments(sim):
    p = sim.Population(3, sim.SpikeSourceArray(spike_times=[[2.0], [4.0, 6.0], []]),
                       label="src")
    p.record("spikes")
    sim.run(10.0)
    sim.reset(annotations={"trial": 0})
    sim.run(8.0)
    block = p.get_data()
    assert isinstance(block, neo.Block)
    assert block.name == "src"
    assert block.annotations["simulator"] == "pyNN.ann"
    assert block.annotations["dt"] == 0.1
    assert block.annotations["size"] == 3
    assert [s.name for s in block.segments] == ["segment000", "segment001"]
    assert block.segments[0].annotations == {"trial": 0}
    for segment, t_stop in zip(block.segments, (10.0, 8.0)):
        trains = segment.spiketrains
        assert len(trains) == 3
        for i, train in enumerate(trains):
            assert train.annotations["source_population"] == "src"
            assert train.annotations["source_index"] == i
            assert train.annotations["channel_id"] == int(p[i])
            assert float(train.t_start) == 0.0
            assert float(train.t_stop) == pytest.approx(t_stop)
        assert np.allclose(trains[1].magnitude, [4.0, 6.0])
    # a view only returns its own cells in the current segment
    view_trains = p[1:].get_data().segments[-1].spiketrains
    assert [t.annotations["source_index"] for t in view_trains] == [1, 2]


def test_get_data_clear(sim):
    p = sim.Population(1, sim.SpikeSourceArray(spike_times=[[1.0, 8.0]]))
    p.record("spikes")
    sim.run(5.0)
    first = p.get_data(clear=True).segments[0].spiketrains[0]
    assert np.allclose(first.magnitude, [1.0])
    sim.run(5.0)
    second = p.get_data().segments[0].spiketrains[0]
    assert np.allclose(second.magnitude, [8.0])
    assert float(second.t_start) == pytest.approx(5.0)


@pytest.mark.parametrize("suffix", [".pkl", ".nix"])
def test_write_data(sim, tmp_path, suffix):
    p = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 3.0], [2.0]]), label="w")
    p.record("spikes")
    sim.run(5.0)
    filename = str(tmp_path / ("data" + suffix))
    p.write_data(filename)
    io = neo.io.get_io(filename) if suffix == ".nix" else neo.io.PickleIO(filename)
    block = io.read_block() if suffix == ".pkl" else io.read()[0]
    if suffix == ".nix":
        io.close()
    trains = block.segments[0].spiketrains
    assert len(trains) == 2
    assert np.allclose(trains[0].magnitude, [1.0, 3.0])
    assert trains[1].annotations["source_population"] == "w"


def test_record_to_file_written_by_end(tmp_path):
    sim = pyNN_ann
    sim.setup(timestep=0.1)
    p = sim.Population(1, sim.SpikeSourceArray(spike_times=[[1.0]]))
    filename = str(tmp_path / "end.pkl")
    p.record("spikes", to_file=filename)
    sim.run(3.0)
    sim.end()
    block = neo.io.PickleIO(filename).read_block()
    assert np.allclose(block.segments[0].spiketrains[0].magnitude, [1.0])


# --- delays (no engine needed) -------------------------------------------------------

def test_check_delays_messages(sim):
    check_delays(np.array([0.1, 0.5, 2.0]), state)
    with pytest.raises(errors.ConnectionError, match=r"-1 ms.*dt = 0.1 ms"):
        check_delays(np.array([0.5, -1.0]), state)
    with pytest.raises(errors.ConnectionError, match=r"0.05 ms.*dt = 0.1 ms"):
        check_delays(np.array([0.05]), state)
    sim.setup(timestep=0.1, min_delay=1.0, max_delay=5.0)
    with pytest.raises(errors.ConnectionError, match="min_delay"):
        check_delays(np.array([0.5]), state)
    with pytest.raises(errors.ConnectionError, match="max_delay"):
        check_delays(np.array([6.0]), state)


# --- tests that need the HH_cond_exp surrogate -------------------------------------

def test_hh_population_parameters_and_initialize(hh_sim):
    sim = hh_sim
    p = sim.Population(4, sim.HH_cond_exp(e_rev_leak=[-66.0, -65.0, -64.0, -63.0]),
                       initial_values={"v": -66.0})
    assert np.allclose(p.get("e_rev_leak"), [-66, -65, -64, -63])
    assert p.get("cm") == 0.2
    p[2:].set(tau_syn_E=5.0)
    assert np.allclose(p.get("tau_syn_E"), [0.2, 0.2, 5.0, 5.0])
    assert np.allclose(state.engine.get_parameters(p._engine_group, "tau_syn_E"),
                       [0.2, 0.2, 5.0, 5.0])
    assert np.allclose(p.initial_values["v"].evaluate(), -66.0)
    p[1:3].initialize(v=-70.0)
    assert np.allclose(p.initial_values["v"].evaluate(), [-66, -70, -70, -66])
    assert np.allclose(p[1:3].initial_values["v"].evaluate(), -70.0)
    with pytest.warns(DeprecationWarning):
        sim.initialize(p, v=-64.0)
    assert np.allclose(p.initial_values["v"].evaluate(), -64.0)
    with pytest.warns(UserWarning, match="does not take an initial value for 'm'"):
        p.initialize(m=0.3)


def test_hh_signals_neo_structure(hh_sim):
    sim = hh_sim
    p = sim.Population(3, sim.HH_cond_exp(), initial_values={"v": -65.0}, label="hh")
    p.record(["v", "gsyn_exc", "spikes"])
    q = sim.Population(3, sim.HH_cond_exp(), label="hh2")
    q[0:2].record(["v", "gsyn_inh"], sampling_interval=1.0)
    with pytest.raises(ValueError, match="same sampling interval"):
        q.record("gsyn_exc", sampling_interval=0.5)
    sim.run(20.0)
    segment = p.get_data().segments[0]
    signals = {s.name: s for s in segment.analogsignals}
    assert set(signals) == {"v", "gsyn_exc"}
    v = signals["v"]
    assert v.shape == (201, 3)                          # includes the t = 0 sample
    assert v.units == pq.mV
    assert float(v.t_start) == 0.0
    assert float(v.sampling_period) == pytest.approx(0.1)
    assert np.allclose(v.magnitude[0], -65.0)
    assert list(v.array_annotations["channel_index"]) == [0, 1, 2]
    assert list(v.annotations["channel_ids"]) == [int(i) for i in p.all_cells]
    assert v.annotations["source_population"] == "hh"
    assert signals["gsyn_exc"].units == pq.CompoundUnit("1e-6*S") or \
        str(signals["gsyn_exc"].units.dimensionality) == "uS"
    q_signals = {s.name: s for s in q.get_data().segments[0].analogsignals}
    inh = q_signals["gsyn_inh"]
    assert inh.shape == (21, 2)                         # 0, 1, ..., 20 ms
    assert float(inh.sampling_period) == pytest.approx(1.0)
    # identical uncoupled cells: the 1 ms samples are every 10th of the 0.1 ms ones
    assert np.allclose(q_signals["v"].magnitude, v.magnitude[::10, :2], atol=1e-3)
    assert list(inh.array_annotations["channel_index"]) == [0, 1]
    assert len(segment.spiketrains) == 3
    # views get their own columns
    view_v = p[1:].get_data("v").segments[0].analogsignals[0]
    assert view_v.shape == (201, 2)
    assert list(view_v.array_annotations["channel_index"]) == [1, 2]
    assert np.allclose(view_v.magnitude, v.magnitude[:, 1:])


def test_hh_one_segment_per_reset(hh_sim):
    sim = hh_sim
    p = sim.Population(2, sim.HH_cond_exp(), label="hh")
    p.record("v")
    sim.run(10.0)
    p.initialize(v=-70.0)
    sim.reset()
    sim.run(5.0)
    block = p.get_data()
    assert len(block.segments) == 2
    shapes = [seg.analogsignals[0].shape for seg in block.segments]
    assert shapes == [(101, 2), (51, 2)]
    assert np.allclose(block.segments[1].analogsignals[0].magnitude[0], -70.0)


def test_hh_write_nix_with_signals(hh_sim, tmp_path):
    sim = hh_sim
    p = sim.Population(2, sim.HH_cond_exp(), label="hh")
    p.record(["v", "spikes"])
    sim.run(5.0)
    filename = str(tmp_path / "hh.nix")
    p.write_data(filename)
    io = neo.io.NixIO(filename, mode="ro")
    block = io.read_block()
    io.close()
    assert block.segments[0].analogsignals[0].shape == (51, 2)


def test_hh_out_of_domain_parameter(hh_sim):
    sim = hh_sim
    with pytest.raises(errors.InvalidParameterValueError, match="cm"):
        sim.Population(1, sim.HH_cond_exp(cm=1e6))
    p = sim.Population(2, sim.HH_cond_exp())
    with pytest.raises(errors.InvalidParameterValueError, match="gbar_Na"):
        p.set(gbar_Na=1000.0)
    assert p.get("gbar_Na") == 20.0                  # unchanged after the refusal
    from pyNN_ann.surrogates.registry import InputRangeWarning
    with pytest.warns(InputRangeWarning, match="initial v = -500.0"):
        p.initialize(v=-500.0)   # allowed, but the user is told it extrapolates


def test_hh_repeated_runs_continue_signals(hh_sim):
    sim = hh_sim
    p = sim.Population(2, sim.HH_cond_exp(i_offset=[0.0, 0.1]), label="hh")
    p.record(["v", "spikes"])
    sim.run(10.0)
    first = p.get_data().segments[0].analogsignals[0].magnitude.copy()
    sim.run(5.0)
    v = p.get_data().segments[0].analogsignals[0]
    assert v.shape == (151, 2)
    assert np.allclose(v.magnitude[:101], first)
    assert float(v.t_stop) == pytest.approx(15.1)
    assert np.isfinite(v.magnitude).all()
    with pytest.raises(ValueError, match="integer multiple"):
        sim.Population(1, sim.HH_cond_exp()).record("v", sampling_interval=0.25)


def _connection_set(prj):
    return sorted((int(i), int(j)) for i, j, _ in prj.get("weight", format="list"))


def test_projection_connectors(hh_sim):
    sim = hh_sim
    pre = sim.Population(6, sim.SpikeSourcePoisson(rate=10.0), label="pre")
    post = sim.Population(4, sim.HH_cond_exp(), label="post")
    syn = sim.StaticSynapse(weight=0.01, delay=0.5)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), syn)
    assert len(prj) == prj.size() == 24
    assert prj.receptor_type == "excitatory"
    prj = sim.Projection(pre[:4], post, sim.OneToOneConnector(), syn,
                         receptor_type="inhibitory")
    assert _connection_set(prj) == [(i, i) for i in range(4)]
    assert prj.receptor_type == "inhibitory"
    prj = sim.Projection(pre, post, sim.FixedProbabilityConnector(
        0.5, rng=sim.NumpyRNG(seed=3)), syn)
    assert 0 < len(prj) < 24
    prj = sim.Projection(pre, post, sim.FixedNumberPreConnector(
        3, rng=sim.NumpyRNG(seed=3)), syn)
    assert len(prj) == 12
    assert np.all(np.bincount([j for _, j in _connection_set(prj)]) == 3)
    prj = sim.Projection(pre, post, sim.FixedNumberPostConnector(
        2, rng=sim.NumpyRNG(seed=3)), syn)
    assert len(prj) == 12
    assert np.all(np.bincount([i for i, _ in _connection_set(prj)], minlength=6) == 2)
    conns = [(0, 1, 0.02, 1.0), (5, 3, 0.03, 2.5), (2, 0, 0.04, 0.1)]
    prj = sim.Projection(pre, post, sim.FromListConnector(conns, column_names=["weight",
                                                                                "delay"]))
    got = sorted(prj.get(["weight", "delay"], format="list"))
    assert [(i, j) for i, j, _, _ in got] == [(0, 1), (2, 0), (5, 3)]
    assert np.allclose([w for _, _, w, _ in got], [0.02, 0.04, 0.03])
    assert np.allclose([d for _, _, _, d in got], [1.0, 0.1, 2.5])
    # an empty projection is fine
    prj = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.0), syn)
    assert len(prj) == 0
    assert np.isnan(prj.get("weight", format="array")).all()


def test_one_to_one_size_one(hh_sim):
    sim = hh_sim
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(1, sim.HH_cond_exp())
    prj = sim.Projection(pre, post, sim.OneToOneConnector(),
                         sim.StaticSynapse(weight=0.1, delay=1.0))
    assert prj.get(["weight", "delay"], format="list") == [(0, 0, pytest.approx(0.1),
                                                            pytest.approx(1.0))]


def test_projection_get_set_round_trip(hh_sim):
    sim = hh_sim
    pre = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(2, sim.HH_cond_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.005, delay=1.0))
    w = prj.get("weight", format="array")
    assert w.shape == (3, 2) and np.allclose(w, 0.005, rtol=1e-6)
    new_w = np.array([[0.001, 0.002], [0.003, 0.004], [0.005, 0.006]])
    prj.set(weight=new_w)
    assert np.allclose(prj.get("weight", format="array"), new_w, rtol=1e-6)
    prj.set(delay=0.3)
    assert np.allclose(prj.get("delay", format="array"), 0.3, rtol=1e-6)
    prj.set(delay=0.57)                                   # rounded to the dt grid
    assert np.allclose(prj.get("delay", format="array"), 0.6, rtol=1e-6)
    prj.set(weight=sim.RandomDistribution("uniform", (0.01, 0.02), rng=sim.NumpyRNG(1)))
    w = np.array(prj.get("weight", format="list", with_address=False))
    assert w.shape == (6,) and ((w >= 0.01 - 1e-9) & (w <= 0.02 + 1e-9)).all()
    values = prj.get(["weight", "delay"], format="list")
    assert len(values) == 6 and all(len(v) == 4 for v in values)
    assert [c.presynaptic_index for c in prj.connections] == [i for i, *_ in values]
    weights, delays = prj.get(["weight", "delay"], format="array")
    assert np.allclose(delays, 0.6, rtol=1e-6)
    with pytest.raises(errors.ConnectionError):
        prj.set(delay=0.01)
    with pytest.raises(errors.ConnectionError):
        prj.set(weight=-0.1)                  # conductance weights must be positive


def test_projection_multiple_synapses_array(hh_sim):
    sim = hh_sim
    pre = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(2, sim.HH_cond_exp())
    conns = [(0, 0, 0.01, 1.0), (0, 0, 0.02, 1.0), (1, 1, 0.05, 1.0)]
    prj = sim.Projection(pre, post, sim.FromListConnector(conns))
    summed = prj.get("weight", format="array")
    assert summed[0, 0] == pytest.approx(0.03) and np.isnan(summed[0, 1])
    assert prj.get("weight", format="array", multiple_synapses="max")[0, 0] == \
        pytest.approx(0.02)
    assert prj.get("weight", format="array", multiple_synapses="first")[0, 0] == \
        pytest.approx(0.01)


def test_projection_views_and_assemblies(hh_sim):
    sim = hh_sim
    a = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0))
    b = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(4, sim.HH_cond_exp())
    n_before = len(state.engine.__dict__.get("syn", [])) if hasattr(state.engine, "syn") else 0
    prj = sim.Projection(a + b, post[1:3], sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.01, delay=0.2))
    assert len(prj) == 10
    assert prj.get("weight", format="array").shape == (5, 2)
    assert len(prj._blocks) == 2                 # one engine call per (pre, post) group pair
    if hasattr(state.engine, "syn"):
        assert len(state.engine.syn) - n_before == 2
    prj.set(weight=0.02)
    assert np.allclose(prj.get("weight", format="array"), 0.02, rtol=1e-6)


def test_projection_bad_delays(hh_sim):
    sim = hh_sim
    pre = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(2, sim.HH_cond_exp())
    with pytest.raises(errors.ConnectionError, match="dt = 0.1"):
        sim.Projection(pre, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=-1.0))
    with pytest.raises(errors.ConnectionError, match=r"0.05 ms.*dt = 0.1"):
        sim.Projection(pre, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=0.05))
    with pytest.raises(errors.ConnectionError):
        sim.Projection(pre, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=-0.01, delay=1.0))
    with pytest.raises(errors.ConnectionError, match="no synaptic receptors"):
        sim.Projection(post, pre, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01))


def test_default_delay_is_min_delay(hh_sim):
    sim = hh_sim
    sim.setup(timestep=0.1, min_delay=0.4)
    pre = sim.Population(1, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(1, sim.HH_cond_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01))
    assert prj.get("delay", format="list", with_address=False) == [pytest.approx(0.4)]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_procedural_api(hh_sim):
    sim = hh_sim
    src = sim.create(sim.SpikeSourceArray(spike_times=[2.0]), n=2)
    cells = sim.create(sim.HH_cond_exp(), n=3)
    prj = sim.connect(src, cells, weight=0.01, delay=0.5, p=1.0)
    assert len(prj) == 6
    sim.set(cells, i_offset=0.1)
    assert cells.get("i_offset") == 0.1
    sim.record(["spikes", "v"], cells, "unused.pkl")
    assert state.write_on_end
    state.write_on_end = []


def test_network_runs_and_inputs_reach_cells(hh_sim):
    sim = hh_sim
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    cells = sim.Population(2, sim.HH_cond_exp(), label="hh")
    sim.Projection(src, cells[0:1], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.05, delay=1.0))
    cells.record(["v", "gsyn_exc"])
    sim.run(20.0)
    g = cells.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude
    t = np.arange(g.shape[0]) * 0.1
    assert np.all(g[t < 5.9, 0] == 0.0)
    assert g[:, 0].max() > 0.01                  # the connected cell got the input
    assert np.all(g[:, 1] == 0.0)                # the other one did not


def test_structured_and_file_connectors(hh_sim, tmp_path):
    sim = hh_sim
    space = sim.Space(axes="x")
    pre = sim.Population(10, sim.SpikeSourcePoisson(rate=10.0),
                         structure=sim.space.Line(dx=100.0))
    post = sim.Population(10, sim.HH_cond_exp(), structure=sim.space.Line(dx=100.0))
    syn = sim.StaticSynapse(weight="0.001 + 0.0001*d", delay="0.2 + 0.01*d")
    prj = sim.Projection(pre, post, sim.DistanceDependentProbabilityConnector(
        "d < 150", rng=sim.NumpyRNG(seed=1)), syn, space=space)
    pairs = _connection_set(prj)
    assert pairs and all(abs(i - j) <= 1 for i, j in pairs)
    assert len(pairs) == 28  # i == j and the two neighbours, at the line's ends one
    got = prj.get(["weight", "delay"], format="list")
    for i, j, w, d in got:
        dist = 100.0 * abs(i - j)
        assert w == pytest.approx(0.001 + 0.0001 * dist)
        assert d == pytest.approx(round((0.2 + 0.01 * dist) / 0.1) * 0.1)
    path = str(tmp_path / "conns.txt")
    prj.save(["weight", "delay"], path, format="list")
    again = sim.Projection(pre, post, sim.FromFileConnector(path), sim.StaticSynapse())
    assert _connection_set(again) == pairs
    clone = sim.Projection(pre, post, sim.CloneConnector(prj), sim.StaticSynapse(weight=0.5))
    assert _connection_set(clone) == pairs
    assert np.allclose(clone.get("weight", format="list", with_address=False), 0.5)
    from pyNN.connectors import IndexBasedExpression

    class Diagonal(IndexBasedExpression):
        def __call__(self, i, j):
            return (i == j).astype(float)

    idx = sim.Projection(pre, post, sim.IndexBasedProbabilityConnector(Diagonal()), syn)
    assert _connection_set(idx) == [(i, i) for i in range(10)]
