"""Renewal spike sources: SpikeSourceGamma and SpikeSourcePoissonRefractory."""

import numpy as np
import pytest

from pyNN_ann.engine import Engine
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
    with pytest.raises(NotImplementedError, match="SpikeSourceInhGamma"):
        sim.SpikeSourceInhGamma()
    sim.end()
