"""Renewal spike sources: SpikeSourceGamma, SpikeSourcePoissonRefractory and
SpikeSourceInhGamma."""

import numpy as np
import pytest

from pyNN.errors import InvalidParameterValueError
from scipy.special import gammainc

from pyNN_ann.engine import Engine
from pyNN_ann.engine.inh_gamma import InhGammaSources
from pyNN_ann.engine.renewal import RenewalSources


def _trains(eng, gid):
    return [t for _, t in sorted(eng.recorded_spikes(gid).items())]


def test_gamma_statistics_and_split_runs():
    def build():
        eng = Engine(dt=0.1, seed=5, progress=False)
        n = 200
        g = eng.add_renewal_group("gamma", n, {"alpha": np.full(n, 4.0), "beta": np.full(n, 80.0),
                                                "start": np.full(n, 100.0),
                                                "duration": np.full(n, 1e9)})
        eng.record(g, "spikes", np.arange(n))
        return eng, g
    a, ga = build()
    a.run(2100.0)
    trains = _trains(a, ga)
    assert min(t.min() for t in trains if len(t)) >= 100.0
    rate = np.mean([len(t) for t in trains]) / 2.0
    assert rate == pytest.approx(20.0, rel=0.05)          # beta / alpha
    isi = np.concatenate([np.diff(t) for t in trains])
    assert np.std(isi) / np.mean(isi) == pytest.approx(0.5, rel=0.1)  # CV = 1/sqrt(alpha)
    b, gb = build()
    for _ in range(7):
        b.run(300.0)
    for x, y in zip(trains, _trains(b, gb)):
        np.testing.assert_array_equal(x, y)
    a.reset()
    a.run(2100.0)
    for x, y in zip(trains, _trains(a, ga)):
        np.testing.assert_array_equal(x, y)


def test_poisson_refractory_dead_time_and_rate():
    src = RenewalSources("poisson_refractory", 50, seed=1, gid=0)
    p = {"rate": np.full(50, 50.0), "tau_refrac": np.full(50, 5.0),
         "start": np.zeros(50), "duration": np.full(50, 1e9)}
    trains = src.emit(p, 10000.0)
    isi = np.concatenate([np.diff(t) for t in trains])
    assert isi.min() >= 5.0
    assert np.mean([len(t) for t in trains]) / 10.0 == pytest.approx(50.0, rel=0.05)


def test_through_the_api_and_parameter_changes():
    import pyNN.ann as sim
    sim.setup(timestep=0.1, rng_seed=3)
    pop = sim.Population(100, sim.SpikeSourceGamma(alpha=2.0, beta=40.0))
    ref = sim.Population(100, sim.SpikeSourcePoissonRefractory(rate=30.0, tau_refrac=3.0))
    pop.record("spikes")
    ref.record("spikes")
    sim.run(1000.0)
    pop.set(beta=0.0)   # silent from now on
    sim.run(500.0)
    spikes = pop.get_data().segments[0].spiketrains
    assert np.mean([len(s) for s in spikes]) == pytest.approx(20.0, rel=0.1)
    assert max(float(s.max()) for s in spikes if len(s)) < 1000.0
    ref_spikes = ref.get_data().segments[0].spiketrains
    assert np.mean([len(s) for s in ref_spikes]) / 1.5 == pytest.approx(30.0, rel=0.1)
    from pyNN.errors import InvalidParameterValueError
    with pytest.raises(InvalidParameterValueError, match="tau_refrac"):
        sim.Population(1, sim.SpikeSourcePoissonRefractory(rate=500.0, tau_refrac=3.0))
    sim.end()


# --- SpikeSourceInhGamma ---------------------------------------------------------------

def _inh_gamma(n, a, b, tbins, seed=1, t_end=None, **gate):
    p = {"a": [np.array(a, float)] * n, "b": [np.array(b, float)] * n,
         "tbins": [np.array(tbins, float)] * n,
         "start": np.full(n, gate.get("start", 0.0)),
         "duration": np.full(n, gate.get("duration", 1e10))}
    src = InhGammaSources(n, seed, 0)
    src.reset(p)
    return src.emit(p, t_end)


def _window(trains, lo, hi):
    return [t[(t >= lo) & (t < hi)] for t in trains]


def test_inh_gamma_rate_and_cv_in_each_bin():
    """Rate 1 / (a b) and CV 1 / sqrt(a) in each bin (after the first 400 ms of a bin,
    when the age carried in from the previous bin no longer matters); a < 1 too."""
    n = 500
    a = [4.0, 1.0, 9.0, 0.25]
    rates = [20.0, 10.0, 40.0, 20.0]  # Hz
    b = [1.0 / (ak * r) for ak, r in zip(a, rates)]  # s
    trains = _inh_gamma(n, a, b, [0.0, 2000.0, 4000.0, 6000.0], t_end=8000.0)
    for k, (ak, rate) in enumerate(zip(a, rates)):
        inside = _window(trains, 2000.0 * k + 400.0, 2000.0 * (k + 1))
        measured = sum(len(t) for t in inside) / n / 1.6
        assert measured == pytest.approx(rate, rel=0.04), (k, measured)  # > 3.5 sigma
        isi = np.concatenate([np.diff(t) for t in inside])
        assert np.std(isi) / np.mean(isi) == pytest.approx(1 / np.sqrt(ak), rel=0.05), k


def test_inh_gamma_starts_at_first_bin_as_after_a_spike():
    """From tbins[0] the first interval is gamma(a, b): the mean count in [0, 100 ms)
    of a regular process (a = 9, 20 Hz) is sum_k P(Gamma(k a, b) <= 100 ms) = 1.55,
    not the 2.0 of a process in equilibrium."""
    n, a, b = 2000, 9.0, 1.0 / (9 * 20.0)
    trains = _inh_gamma(n, [a], [b], [0.0], seed=2, t_end=100.0)
    exact = sum(gammainc(k * a, 100.0 / (b * 1000.0)) for k in range(1, 40))
    assert np.mean([len(t) for t in trains]) == pytest.approx(exact, rel=0.03)
    late = _inh_gamma(200, [a], [b], [500.0], seed=2, t_end=600.0)
    assert min(t.min() for t in late if len(t)) >= 500.0  # silent before tbins[0]


def test_inh_gamma_age_carries_over_bin_boundaries():
    """300 bins of 10 ms with the same a, b are one gamma process (a process restarted
    at every boundary would almost never fire: its first interval is ~50 ms)."""
    n = 500
    tbins = np.arange(0.0, 3000.0, 10.0)
    trains = _window(_inh_gamma(n, [4.0] * 300, [1 / 80.0] * 300, tbins, seed=3,
                                t_end=3000.0), 400.0, 3000.0)
    assert sum(len(t) for t in trains) / n / 2.6 == pytest.approx(20.0, rel=0.04)
    isi = np.concatenate([np.diff(t) for t in trains])
    assert np.std(isi) / np.mean(isi) == pytest.approx(0.5, rel=0.05)


def test_inh_gamma_start_duration_and_silent_bins():
    trains = _inh_gamma(100, [1.0, 1.0], [0.01, np.inf], [0.0, 600.0], t_end=1000.0,
                        start=200.0, duration=300.0)
    spikes = np.concatenate(trains)
    assert spikes.min() >= 200.0 and spikes.max() < 500.0
    assert len(spikes) / 100 / 0.3 == pytest.approx(100.0, rel=0.1)


def _inh_gamma_network(seed, runs, n=50):
    import pyNN.ann as sim
    sim.setup(timestep=0.1, rng_seed=seed)
    pop = sim.Population(n, sim.SpikeSourceInhGamma(
        a=sim.Sequence([2.0, 6.0]), b=sim.Sequence([1 / 40.0, 1 / 120.0]),
        tbins=sim.Sequence([0.0, 400.0])))
    pop.record("spikes")
    for duration in runs:
        sim.run(duration)
    trains = [np.asarray(s) for s in pop.get_data().segments[0].spiketrains]
    return sim, pop, trains


def test_inh_gamma_reproducible_and_independent_of_run_splitting():
    sim, pop, one = _inh_gamma_network(11, [1000.0])
    sim.reset()
    sim.run(1000.0)
    again = [np.asarray(s) for s in pop.get_data().segments[1].spiketrains]
    sim.end()
    _, _, split = _inh_gamma_network(11, [123.4, 276.6, 0.1, 599.9])
    sim.end()
    _, _, other = _inh_gamma_network(12, [1000.0])
    sim.end()
    assert sum(len(t) for t in one) > 500
    for x, y, z in zip(one, again, split):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    assert not all(np.array_equal(x, y) for x, y in zip(one, other))


def test_inh_gamma_parameter_changes_through_the_api():
    import pyNN.ann as sim
    sim, pop, _ = _inh_gamma_network(5, [500.0], n=100)
    # all three sequences at once, with a new number of bins (valid only together)
    pop.set(a=sim.Sequence([1.0, 1.0, 1.0]), b=sim.Sequence([1 / 50.0, np.inf, 1 / 50.0]),
            tbins=sim.Sequence([0.0, 700.0, 900.0]))
    pop[:50].set(b=sim.Sequence([np.inf, np.inf, np.inf]))  # a view: half go silent
    sim.run(700.0)
    trains = [np.asarray(s) for s in pop.get_data().segments[0].spiketrains]
    late = _window(trains, 500.0, 1200.0)
    assert sum(len(t) for t in late[:50]) == 0
    rest = late[50:]
    assert sum(((t >= 700.0) & (t < 900.0)).sum() for t in rest) == 0
    in_rate = sum(((t < 700.0) | (t >= 900.0)).sum() for t in rest) / 50 / 0.5
    assert in_rate == pytest.approx(50.0, rel=0.15)
    assert list(pop.get("tbins")[60].value) == [0.0, 700.0, 900.0]
    sim.end()


@pytest.mark.parametrize("parameters,message", [
    (dict(a=[-1.0]), r"a \(gamma shape\) must be finite and > 0, got a = \[-1.0\]"),
    (dict(b=[0.0]), r"b \(gamma scale, in s\) must be > 0 .* got b = \[0.0\]"),
    (dict(a=[1.0, 2.0]), r"one value per time bin .* got 2, 1 and 1 values"),
    (dict(a=[1.0, 1.0], b=[1.0, 1.0], tbins=[0.0, 100.0, 50.0]), r"got 2, 2 and 3"),
    (dict(a=[1.0, 1.0], b=[1.0, 1.0], tbins=[100.0, 50.0]),
     r"non-decreasing order, got tbins = \[100.0, 50.0\]"),
    (dict(duration=-5.0), r"duration must be >= 0 ms, got duration = -5.0"),
])
def test_inh_gamma_bad_parameters(parameters, message):
    import pyNN.ann as sim
    sim.setup(timestep=0.1)
    values = {k: sim.Sequence(v) if isinstance(v, list) else v for k, v in parameters.items()}
    with pytest.raises(InvalidParameterValueError, match=message):
        sim.Population(3, sim.SpikeSourceInhGamma(**values))
    pop = sim.Population(3, sim.SpikeSourceInhGamma())
    with pytest.raises(InvalidParameterValueError, match=message):
        pop.set(**values)
    assert list(pop.get("a")[0].value) == [1.0]  # unchanged
    sim.end()


def test_inh_gamma_drives_cells():
    import pyNN.ann as sim
    sim.setup(timestep=0.1, rng_seed=4)
    src = sim.Population(5, sim.SpikeSourceInhGamma(
        a=sim.Sequence([1.0, 1.0]), b=sim.Sequence([np.inf, 0.005]),
        tbins=sim.Sequence([0.0, 100.0])))
    cells = sim.Population(5, sim.IF_curr_exp())
    sim.Projection(src, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.5, delay=1.0), receptor_type="excitatory")
    cells.record("v")
    sim.run(200.0)
    v = np.asarray(cells.get_data().segments[0].analogsignals[0])
    assert np.ptp(v[:1000]) < 1e-3    # silent bin: the cells rest
    assert (v[1020:].max(axis=0) - v[1000]).min() > 1.0  # 200 Hz of input: they move
    sim.end()
