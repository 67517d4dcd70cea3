"""The work–precision benchmark's logic: labels, inputs, interpolation, tables (no timings)."""

import json
import math

import numpy as np
import pytest

from pyNN_ann.validation import work_precision as wp


def test_parse_label():
    c = wp.parse_label("neuron-dt0.025")
    assert (c["backend"], c["family"], c["timestep"], c["x"]) == (
        "neuron", "neuron fixed step", 0.025, 0.025)
    assert c["options"] == {"use_cvode": False} and not c["local_dt"]
    c = wp.parse_label("neuron-lcvode1e-3")
    assert c["family"] == "neuron CVODE (local dt)" and c["local_dt"]
    assert c["options"] == {"use_cvode": True, "rtol": 1e-3, "atol": 1e-3}
    c = wp.parse_label("neuron-cvode1e-06")
    assert c["family"] == "neuron CVODE" and not c["local_dt"] and c["x"] == 1e-6
    c = wp.parse_label("ann-dt0.1")
    assert (c["backend"], c["family"], c["timestep"], c["options"]) == ("ann", "ann", 0.1, {})
    assert wp.parse_label("nest-dt0.1")["options"] == {"threads": 1}
    for bad in ("brian2-dt0.1", "neuron", "ann-cvode1e-3", "neuron-rk4"):
        with pytest.raises(ValueError):
            wp.parse_label(bad)
    for label in wp.DEFAULT_CONFIGS + (wp.REFERENCE,) + wp.CHECKS:
        wp.parse_label(label)


def test_reference_chunk():
    assert wp.reference_chunk("neuron-cvode1e-06", 1000, workers=2, chunk=10) == 10
    assert wp.reference_chunk("neuron-lcvode1e-06", 1000, workers=2) == 500
    assert wp.reference_chunk("neuron-lcvode1e-06", 7, workers=2) == 4


def test_parse_drive():
    d = wp.parse_drive(["exc_rate=100:800", "inh_weight=0.005"])
    assert d == {"exc_rate": (100.0, 800.0), "inh_weight": 0.005}
    for bad in (["exc_rate=100"], ["tau=3"], ["exc_weight="]):
        with pytest.raises(ValueError):
            wp.parse_drive(bad)


def test_poisson_protocol():
    p = wp.make_protocol("poisson", "HH_cond_exp", 6, 200.0, seed=3)
    assert p.size == 6 and p.duration == 200.0 and p.delay == 1.0
    assert p.parameters["gbar_Na"].tolist() == [20.0] * 6
    assert np.all(p.exc_weight == wp.POISSON_DRIVE["HH_cond_exp"]["exc_weight"])
    assert np.all((p.v_init >= -70.0) & (p.v_init <= -60.0))
    for trains in (p.exc_spikes, p.inh_spikes):
        for s in trains:
            assert np.all(np.diff(s) > 0)                         # sorted, no duplicates
            assert np.allclose(s / wp.GRID, np.round(s / wp.GRID))  # on the 0.1 ms grid
            assert np.all((s >= wp.MIN_INPUT_TIME - 1e-9) & (s < 200.0))
    # rates log-uniform in [500, 4000] Hz: 100 to 800 spikes in 200 ms, Poisson noise
    n_exc = np.array([len(s) for s in p.exc_spikes])
    assert np.all((n_exc > 50) & (n_exc < 1000))
    # deterministic for a seed; the key follows the inputs
    q = wp.make_protocol("poisson", "HH_cond_exp", 6, 200.0, seed=3)
    assert wp.protocol_key(p) == wp.protocol_key(q)
    assert wp.protocol_key(p) != wp.protocol_key(
        wp.make_protocol("poisson", "HH_cond_exp", 6, 200.0, seed=4))
    assert wp.protocol_key(p) != wp.protocol_key(p.subset(np.arange(5)))
    # overrides of the drive
    r = wp.make_protocol("poisson", "HH_cond_exp", 6, 200.0, seed=3,
                         drive={"exc_weight": 0.002, "exc_rate": (10.0, 10.0)})
    assert np.all(r.exc_weight == 0.002)
    assert np.mean([len(s) for s in r.exc_spikes]) < 10
    with pytest.raises(ValueError):
        wp.make_protocol("constant", "HH_cond_exp", 6, 200.0)


def test_if_cond_exp_protocol_uses_coba_cells():
    p = wp.make_protocol("poisson", "IF_cond_exp", 4, 100.0)
    assert p.celltype == "IF_cond_exp"
    assert p.parameters["tau_m"].tolist() == [20.0] * 4
    assert p.parameters["v_thresh"].tolist() == [-50.0] * 4


def test_heldout_protocol_starts_after_min_input_time():
    p = wp.make_protocol("heldout-standard", "HH_cond_exp", 5, 300.0)
    assert p.meta["inputs"] == "heldout-standard"
    assert all(np.all(s >= wp.MIN_INPUT_TIME - 1e-9) for s in p.exc_spikes + p.inh_spikes)


def test_accuracy_of_identical_and_shifted_trains():
    ref = [np.array([10.0, 50.0, 100.0]), np.array([20.0]), np.array([])]
    a = wp.accuracy(ref, [s.copy() for s in ref], 200.0)
    assert a["gamma"] == pytest.approx(1.0) and a["precision"] == 1.0 and a["recall"] == 1.0
    assert a["rate_error_pct"] == pytest.approx(0.0)
    far = [s + 5.0 for s in ref]  # every spike 5 ms late: no coincidences
    b = wp.accuracy(ref, far, 200.0)
    assert b["precision"] == 0.0 and b["gamma"] < 0


def test_matched_time_interpolates_in_log_log():
    pts = [(0.2, 1.0), (0.6, 2.0), (0.9, 8.0)]  # cheapest first; 1 - Γ = 0.8, 0.4, 0.1
    # Γ 0.8 (error 0.2) lies half-way between errors 0.4 and 0.1 in log: 2 * sqrt(4)
    m = wp.matched_time(pts, 0.8)
    assert m["status"] == "matched" and m["segment"] == [1, 2]
    assert m["time"] == pytest.approx(4.0)
    assert wp.matched_time(pts, 0.6)["time"] == pytest.approx(2.0)  # on a point
    assert wp.matched_time(pts, 0.9)["time"] == pytest.approx(8.0)
    low = wp.matched_time(pts, 0.1)  # even the cheapest point is more accurate
    assert low["status"] == "more accurate everywhere" and low["time"] is None
    assert low["bound"] == 1.0
    high = wp.matched_time(pts, 0.95)  # no point reaches it
    assert high["status"] == "less accurate everywhere" and high["bound"] == 8.0
    # non-monotonic curve: the first (cheapest) crossing counts
    m = wp.matched_time([(0.3, 1.0), (0.7, 2.0), (0.5, 3.0), (0.9, 4.0)], 0.6)
    f = math.log(0.4 / 0.7) / math.log(0.3 / 0.7)
    assert m["segment"] == [0, 1] and m["time"] == pytest.approx(2.0 ** f)
    # failed and missing points are ignored
    assert wp.matched_time([(float("nan"), 1.0), (0.5, None), (0.4, 2.0)], 0.1)["bound"] == 2.0
    assert wp.matched_time([], 0.5)["status"] == "no points"


def _fake_results():
    def res(label, gamma, run_s, **kw):
        r = {"label": label, "family": wp.parse_label(label)["family"],
             "x": wp.parse_label(label)["x"], "gamma": gamma, "gamma_mean": gamma - 0.01,
             "precision": 0.7, "recall": 0.7, "rate_error_pct": 1.0, "run_s": run_s,
             "run_s_all": [run_s, run_s * 1.1]}
        r.update(kw)
        return r
    return [res("ann-dt0.1", 0.5, 2.0, first_run_s=10.0, compile_s=8.0),
            res("neuron-dt0.1", 0.6, 2.0),       # listed out of order on purpose
            res("neuron-dt0.5", 0.2, 1.0),
            res("neuron-dt0.025", 0.9, 8.0),
            res("neuron-lcvode0.001", 0.8, 20.0),
            res("neuron-lcvode0.01", 0.55, 10.0),
            res("nest-dt0.1", 0.95, 3.0),
            {"label": "neuron-dt0.005", "family": "neuron fixed step", "error": "boom"}]


def test_summary_table_and_plot(tmp_path):
    results = _fake_results()
    fams = wp.families(results)
    assert [r["label"] for r in fams["neuron fixed step"]] == [
        "neuron-dt0.5", "neuron-dt0.1", "neuron-dt0.025"]
    assert [r["label"] for r in fams["neuron CVODE (local dt)"]] == [
        "neuron-lcvode0.01", "neuron-lcvode0.001"]
    s = wp.summarise(results)
    assert s["ann"] == "ann-dt0.1" and s["ann_gamma"] == 0.5 and s["ann_run_s"] == 2.0
    fixed = s["matched"]["neuron fixed step"]
    # Γ 0.5: between dt 0.5 (1 − Γ = 0.8, 1 s) and dt 0.1 (0.4, 2 s)
    t = 2.0 ** (math.log(0.5 / 0.8) / math.log(0.4 / 0.8))
    assert fixed["status"] == "matched" and fixed["time"] == pytest.approx(t)
    assert fixed["between"] == ["neuron-dt0.5", "neuron-dt0.1"]
    assert fixed["ratio"] == pytest.approx(t / 2.0)
    assert fixed["ratio_with_compile"] == pytest.approx(t / 10.0)
    cvode = s["matched"]["neuron CVODE (local dt)"]
    assert cvode["status"] == "more accurate everywhere" and cvode["ratio"] == pytest.approx(5.0)
    assert s["matched"]["nest fixed step"]["bound"] == 3.0

    table = wp.markdown(results, s)
    assert "| ann-dt0.1 | 0.500 | 0.490 |" in table
    assert "| neuron-dt0.5 | 0.200 |" in table and "1.00 / 1.10" in table
    assert "| neuron-dt0.025 | 0.900 | 0.890 | 0.700 | 0.700 | +1.0 | 8.00 |" in table
    assert "| 4.00 |" in table  # dt 0.025 run time / ann
    assert "failed: boom" in table
    assert f"between neuron-dt0.5 and neuron-dt0.1 | {t:.2f} | {t / 2:.2f} |" in table
    assert "| neuron CVODE (local dt) | cheapest point neuron-lcvode0.01 already has Γ ≥ " \
           "ann's | ≤ 10.00 | ≤ 5.00 |" in table
    assert "Γ = 0.500" in table
    json.dumps(s)  # serialisable

    wp.plot(results, s, str(tmp_path / "wp.png"), title="fake")
    assert (tmp_path / "wp.png").stat().st_size > 10000


def test_summary_without_ann():
    results = [r for r in _fake_results() if r["family"] != "ann"]
    s = wp.summarise(results)
    assert s["ann"] is None and s["matched"] == {}
    assert "neuron-dt0.1" in wp.markdown(results, s)


def test_parser_defaults():
    a = wp._parser("x").parse_args([])
    assert a.cells == 1000 and a.duration == 1000.0 and a.celltype == "HH_cond_exp"
    assert a.inputs == "poisson" and a.reference == wp.REFERENCE
    assert a.configs.split(",")[0] == "ann-dt0.1" and "neuron-dt0.01" in a.configs


@pytest.mark.slow
def test_end_to_end_tiny(tmp_path):
    """Three cells, 100 ms: reference, one NEURON step and pyNN.ann through main()."""
    from pyNN_ann.surrogates import registry
    if "HH_cond_exp" not in registry.available():
        pytest.skip("no shipped HH_cond_exp surrogate")
    out = wp.main(["-n", "3", "--duration", "100", "--configs", "ann-dt0.1,neuron-dt0.1",
                   "--repeats", "1", "--check", "neuron-cvode1e-06", "--check-cells", "2",
                   "--output", str(tmp_path)])
    by = {r["label"]: r for r in out["results"]}
    assert set(by) == {"ann-dt0.1", "neuron-dt0.1"}
    assert all(not r.get("error") for r in by.values())
    assert by["ann-dt0.1"]["compile_s"] is not None and by["ann-dt0.1"]["deterministic"]
    assert out["convergence_check"][0]["label"] == "neuron-cvode1e-06"
    for name in ("work_precision.md", "work_precision.json", "work_precision.png"):
        assert (tmp_path / name).exists()


def test_write_report_from_saved_results(tmp_path):
    results = _fake_results()
    for r in results:
        if "gamma" in r:
            r.update(rate_ref_hz=30.0, gamma_excluded_cells=12)
    saved = {"settings": {"command": "benchmarks/work_precision.py -n 3", "celltype":
                          "HH_cond_exp", "inputs": "poisson", "cells": 3, "duration_ms": 100.0,
                          "repeats": 2, "reference": wp.REFERENCE, "cpu_count": 2,
                          "load_avg_start": [1.5, 1, 1], "load_avg_end": [2.5, 1, 1],
                          "mean_input_rates_hz": {"exc": 1450.2, "inh": 823.9},
                          "drive": wp.POISSON_DRIVE["HH_cond_exp"]},
             "convergence_check": [{"label": "neuron-lcvode1e-08", "cells": 2, "gamma": 1.0,
                                    "precision": 1.0, "recall": 1.0, "rate_error_pct": 0.0}],
             "results": results, "summary": wp.summarise(results)}
    saved = json.loads(json.dumps(saved))  # as read back from the JSON file
    wp.write_report(str(tmp_path), saved)
    md = (tmp_path / "work_precision.md").read_text()
    assert "    benchmarks/work_precision.py -n 3" in md
    assert "mean 1450 / 824 Hz per cell; rates log-uniform per cell, excitatory 500–4000 Hz " \
           "× 0.5 nS, inhibitory 250–2000 Hz × 1 nS" in md
    assert "(mean rate 30.00 Hz; 12 cells silent in both runs carry no weight in Γ)" in md
    assert "`neuron-lcvode1e-08` against `neuron-lcvode1e-06` on the first 2 cells: " \
           "Γ = 1.0000" in md
    assert "minimum over 2 rounds in alternating order" in md  # every config has 2 rounds
    assert "load 1.50 at the start, 2.50 at the end" in md
    assert "| ann-dt0.1 | 0.500 |" in md and "![work-precision](work_precision.png)" in md
    assert (tmp_path / "work_precision.png").stat().st_size > 10000
