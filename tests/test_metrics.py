"""Known-answer tests for pyNN_ann.validation.metrics (no simulator needed)."""

import numpy as np
import pytest

from pyNN_ann.validation import metrics as m

T = 1000.0  # ms


def poisson(rng, rate, duration=T):
    return np.sort(rng.uniform(0, duration, rng.poisson(rate * duration / 1000.0)))


def test_identical_trains():
    s = np.array([10.0, 50.0, 51.5, 300.0, 700.0])
    assert m.coincidence_factor(s, s, T) == pytest.approx(1.0)
    assert m.precision_recall(s, s) == (1.0, 1.0)


def test_shift_3ms_gives_no_coincidence():
    s = np.array([10.0, 100.0, 200.0, 400.0])
    assert len(m.match_spikes(s, s + 3.0)[0]) == 0
    assert m.precision_recall(s, s + 3.0) == (0.0, 0.0)
    assert m.coincidence_factor(s, s + 3.0, T) < 0


def test_shift_within_window_counts():
    s = np.array([10.0, 100.0, 200.0])
    assert m.precision_recall(s, s + 2.0) == (1.0, 1.0)
    assert m.precision_recall(s, s - 1.9) == (1.0, 1.0)


def test_one_to_one_matching():
    ref = np.array([100.0])
    test = np.array([99.5, 100.0, 100.5])
    p, r = m.precision_recall(ref, test)
    assert r == 1.0 and p == pytest.approx(1 / 3)
    # burst in ref, single in test: only one pair
    p, r = m.precision_recall(test, ref)
    assert p == 1.0 and r == pytest.approx(1 / 3)
    # greedy must not waste a match: ref 0,3 vs test 1.5,4.5 -> 2 pairs
    assert len(m.match_spikes([0.0, 3.0], [1.5, 4.5])[0]) == 2


def test_gamma_formula_by_hand():
    ref = np.array([100.0, 200.0, 300.0, 400.0])
    test = np.array([101.0, 250.0])  # one coincidence
    nu = 2 / T
    expected = (1 - 2 * nu * 2 * 4) / (0.5 * 6) / (1 - 2 * nu * 2)
    assert m.coincidence_factor(ref, test, T) == pytest.approx(expected)


def test_independent_poisson_gamma_near_zero():
    rng = np.random.default_rng(1)
    g = m.coincidence_factor(poisson(rng, 20, 10000.0), poisson(rng, 20, 10000.0), 10000.0)
    refs = [np.sort(rng.uniform(0, 10000, rng.poisson(200))) for _ in range(50)]
    tests = [np.sort(rng.uniform(0, 10000, rng.poisson(200))) for _ in range(50)]
    agg = m.compare({"spikes": refs}, {"spikes": tests}, 0.1, 10000.0)["aggregate"]
    assert abs(agg["gamma"]) < 0.05
    assert abs(g) < 0.3


def test_empty_conventions():
    assert np.isnan(m.coincidence_factor([], [], T))
    assert m.coincidence_factor([10.0], [], T) == 0.0
    assert m.coincidence_factor([], [10.0], T) == 0.0
    p, r = m.precision_recall([], [])
    assert np.isnan(p) and np.isnan(r)
    out = m.compare({"spikes": [[], [10.0]]}, {"spikes": [[], [10.0]]}, 0.1, T)
    assert out["aggregate"]["gamma"] == pytest.approx(1.0)
    assert out["aggregate"]["gamma_excluded_cells"] == 1
    assert np.isnan(out["per_cell"]["gamma"][0])


def test_rmse_masks_spike_windows():
    dt = 0.1
    n = int(T / dt) + 1
    t = np.arange(n) * dt
    v_ref = np.full((1, n), -65.0)
    v_test = v_ref + 1.0
    spike = 500.0
    around = np.abs(t - spike) <= 2.0 + 1e-9
    v_test[0, around] = 40.0  # a wildly wrong spike shape, masked away
    per_cell, _, cnt = m.vm_rmse(v_ref, v_test, dt, [[spike]], [[]])
    assert per_cell[0] == pytest.approx(1.0)
    assert cnt[0] == n - around.sum()
    # spike in the tested train only also masks
    per_cell, _, _ = m.vm_rmse(v_ref, v_test, dt, [[]], [[spike]])
    assert per_cell[0] == pytest.approx(1.0)
    # without a spike the error shows
    per_cell, _, _ = m.vm_rmse(v_ref, v_test, dt, [[]], [[]])
    assert per_cell[0] > 5


def test_rate_error_pooled_and_per_cell():
    ref = {"spikes": [np.arange(10) * 50.0, np.arange(10) * 50.0, []]}
    test = {"spikes": [np.arange(15) * 50.0, np.arange(10) * 50.0, [5.0]]}
    out = m.compare(ref, test, 0.1, T)
    assert out["aggregate"]["rate_error_pct"] == pytest.approx(30.0)
    np.testing.assert_allclose(out["per_cell"]["rate_error"][:2], [50.0, 0.0])
    assert np.isnan(out["per_cell"]["rate_error"][2])
    assert out["aggregate"]["rate_ref_hz"] == pytest.approx(20 / 3)


def test_compare_full_and_windows():
    rng = np.random.default_rng(3)
    dt = 0.1
    spikes = [poisson(rng, 15, 2000.0) for _ in range(5)]
    v = rng.normal(-65, 2, (5, int(2000 / dt) + 1))
    r = {"spikes": spikes, "v": v}
    out = m.compare(r, r, dt, 2000.0)["aggregate"]
    assert out["gamma"] == pytest.approx(1.0)
    assert out["vm_rmse_mv"] == 0.0
    assert out["timing_shift_ms"] == 0.0
    wins = m.compare_windows(r, r, dt, 2000.0, window=1000.0)
    assert len(wins) == 2 and all(w["gamma"] == pytest.approx(1.0) for w in wins)


def test_population_statistics_and_kl():
    rng = np.random.default_rng(0)
    spikes = [poisson(rng, 20) for _ in range(30)] + [np.array([])]
    st = m.population_statistics(spikes, T)
    assert st["rate"].shape == (31,) and st["rate"][-1] == 0.0
    assert np.isnan(st["cv"][-1])
    assert np.nanmean(st["cv"]) == pytest.approx(1.0, abs=0.2)  # Poisson
    assert abs(np.mean(st["correlation"])) < 0.05
    a, b = rng.normal(0, 1, 2000), rng.normal(0, 1, 2000)
    assert m.kl_divergence(a, b, bins=20) < 0.05
    assert m.kl_divergence(a, b + 3, bins=20) > 1.0
