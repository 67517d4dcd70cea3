"""Validation plumbing: the report of several references, merging reports, and how
protocol inputs reach pyNN.nest."""

import json

import numpy as np
import pytest

from pyNN_ann.surrogates.training.reference import _by_shift
from pyNN_ann.validation import report, single_cell


def _metrics(label, gamma):
    run = {"n_cells": 5, "duration_ms": 1000.0, "gamma": gamma}
    return {"protocol": {"seed": 1, "cells": 5, "duration_ms": 1000.0, "long_cells": 0,
                         "long_duration_ms": 0, "dt": 0.1},
            "reference": {"label": label},
            "results": {"ann": {"short": run, "error": None}}}


def test_report_names_each_reference_and_merge_keeps_earlier_types(tmp_path, monkeypatch):
    old = {"IF_cond_exp": dict(_metrics("neuron-cvode", 0.83), command="pynn-ann validate A")}
    (tmp_path / "metrics.json").write_text(json.dumps(old))
    (tmp_path / "IF_cond_exp_short_traces.png").write_bytes(b"")
    new = _metrics("nest-dt0.01", 0.84)
    monkeypatch.setattr(single_cell, "validate_celltype", lambda ct, **kw: (dict(new), {}))
    single_cell.validate(["IF_curr_delta"], output=str(tmp_path), command="pynn-ann validate B",
                         plots=False, merge=True)
    merged = json.loads((tmp_path / "metrics.json").read_text())
    assert list(merged) == ["IF_cond_exp", "IF_curr_delta"]
    text = (tmp_path / "report.md").read_text()
    assert "    pynn-ann validate A\n    pynn-ann validate B\n" in text
    assert (report.REFERENCES["neuron-cvode"] + " (IF_cond_exp); "
            "pyNN.nest at a fixed dt of 0.01 ms (IF_curr_delta)") in text
    assert "pyNN.neuron with CVODE (rtol = atol = 1e-6)" in text
    assert "![traces](IF_cond_exp_short_traces.png)" in text  # kept figure still linked
    assert "| IF_curr_delta | ann | 5 × 1 s | 0.840 |" in text
    # without merge, only the new type remains
    single_cell.validate(["IF_curr_delta"], output=str(tmp_path), command="C", plots=False)
    assert list(json.loads((tmp_path / "metrics.json").read_text())) == ["IF_curr_delta"]


def test_early_spikes_are_shifted_with_their_delay():
    trains = [np.array([0.1, 0.2, 5.0]), np.array([0.3]), np.array([])]
    parts = list(_by_shift(trains, 0.1))
    assert [shift for shift, _ in parts] == [0.0, 0.1]
    late, early = parts[0][1], parts[1][1]
    assert [list(t) for t in late] == [[0.2, 5.0], [0.3], []]
    assert [list(t) for t in early] == [[0.1], [], []]
    assert len(list(_by_shift(trains, 0.0))) == 1  # other simulators: unchanged
    assert len(list(_by_shift([np.array([0.2])], 0.1))) == 1  # nothing early


@pytest.mark.slow
@pytest.mark.parametrize("timestep", [0.1, 0.01])
def test_pynn_nest_receives_every_protocol_spike_on_time(timestep):
    """Spikes at the first step and at times whose float difference with min_delay
    rounds up reach an IF_curr_delta cell in pyNN.nest exactly delay ms later."""
    pytest.importorskip("nest")
    from pyNN_ann.surrogates.training.protocols import Protocol
    from pyNN_ann.surrogates.training.reference import run_in_subprocess
    one = lambda x: np.array([x])  # noqa: E731
    spikes = np.array([0.1, 1.3, 5.0, 7.7])
    protocol = Protocol(
        celltype="IF_curr_delta", duration=12.0, dt=0.1,
        parameters={"tau_m": one(10.0), "v_rest": one(-65.0), "v_thresh": one(-50.0),
                    "v_reset": one(-70.0), "cm": one(1.0), "tau_refrac": one(2.0),
                    "i_offset": one(0.0)},
        v_init=one(-60.0), exc_spikes=[spikes], inh_spikes=[np.array([])],
        exc_weight=one(1.0), inh_weight=one(-1.0), delay=1.0)
    v = run_in_subprocess(protocol, "nest", options={}, timestep=timestep)["v"][0]
    jumps = np.flatnonzero(np.diff(v) > 0.5) + 1
    np.testing.assert_allclose(jumps * 0.1, spikes + 1.0)
    assert v[0] == pytest.approx(-60.0)  # initialize(v=...) reached NEST's V_m


def _exact_if_curr_exp(grid, v0, p, arrivals, weight):
    """v of a non-spiking IF_curr_exp cell with exponential synaptic currents, in closed
    form (superposition of the leak's and each PSC's response)."""
    tau_m, tau_s, cm = p["tau_m"], p["tau_syn_E"], p["cm"]
    v_inf = p["v_rest"] + p["i_offset"] * tau_m / cm
    v = v_inf + (v0 - v_inf) * np.exp(-grid / tau_m)
    for t0 in arrivals:
        s = np.clip(grid - t0, 0.0, None)
        v += (weight * tau_m * tau_s / (cm * (tau_m - tau_s))
              * (np.exp(-s / tau_m) - np.exp(-s / tau_s)))
    return v


@pytest.mark.slow
def test_converged_reference_is_recorded_on_the_grid_accurately():
    """The training and validation reference (pyNN.neuron CVODE) sampled at dt 0.01 is
    within 1 µV of the exact solution, with step-to-step errors far below the
    surrogate's per-step correction (PCHIP resampling of CVODE's own steps was off by
    up to 16 µV, with ~0.1 mV of one-step noise)."""
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    from pyNN_ann.surrogates.training.protocols import Protocol
    from pyNN_ann.surrogates.training.reference import run_in_subprocess
    ensure_neuron_mechanisms()
    one = lambda x: np.array([x])  # noqa: E731
    p = {"tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0, "cm": 1.0, "v_rest": -65.0,
         "v_thresh": 100.0, "v_reset": -70.0, "tau_refrac": 1.0, "i_offset": 0.5}
    spikes = np.array([5.0, 12.3, 30.0])
    protocol = Protocol(
        celltype="IF_curr_exp", duration=50.0, dt=0.01,
        parameters={k: one(v) for k, v in p.items()}, v_init=one(-65.0),
        exc_spikes=[spikes], inh_spikes=[np.array([])], exc_weight=one(1.0),
        inh_weight=one(0.0), delay=1.0)
    v = run_in_subprocess(protocol)["v"][0]
    grid = np.arange(5001) * 0.01
    error = v - _exact_if_curr_exp(grid, -65.0, p, spikes + 1.0, 1.0)
    assert v.shape == grid.shape
    assert np.abs(error).max() < 2e-3, np.abs(error).max()
    assert np.sqrt(np.mean(np.diff(error) ** 2)) < 1e-5


@pytest.mark.slow
def test_converged_reference_spikes_at_the_threshold_crossing():
    """An IF cell under constant current on the reference (pyNN.neuron CVODE): first
    spike and interspike interval as the closed form has them. NEURON's default puts
    the crossing, and so the reset, at the end of CVODE's step: 0.03 to 1.3 ms late."""
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    from pyNN_ann.surrogates.training.protocols import Protocol
    from pyNN_ann.surrogates.training.reference import run_in_subprocess
    ensure_neuron_mechanisms()
    v_inf = np.array([-48.0, -45.0, -35.0, -20.0])
    n = len(v_inf)
    p = {"tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "cm": 0.2, "v_rest": -60.0,
         "v_thresh": -50.0, "v_reset": -60.0, "tau_refrac": 5.0, "e_rev_E": 0.0,
         "e_rev_I": -80.0}
    parameters = {k: np.full(n, v) for k, v in p.items()}
    parameters["i_offset"] = (v_inf + 60.0) * 0.2 / 20.0
    protocol = Protocol(celltype="IF_cond_exp", duration=200.0, dt=0.1,
                        parameters=parameters, v_init=np.full(n, -60.0),
                        exc_spikes=[np.array([])] * n, inh_spikes=[np.array([])] * n,
                        exc_weight=np.zeros(n), inh_weight=np.zeros(n))
    spikes = run_in_subprocess(protocol)["spikes"]
    first = 20.0 * np.log((v_inf + 60.0) / (v_inf + 50.0))
    for t, t1 in zip(spikes, first):
        assert len(t) >= 4
        assert abs(t[0] - t1) < 0.01, (t[0], t1)
        assert np.abs(np.diff(t) - (t1 + 5.0)).max() < 0.01, (np.diff(t), t1 + 5.0)


@pytest.mark.slow
def test_reference_alpha_synapses_keep_every_input_spike():
    """pyNN.neuron's alpha synapses drop input spikes beyond 1000 within 20 tau_syn;
    the reference's own build keeps them: 20 spikes/ms of 1 pA on tau_syn 5 ms (2000
    spikes in the window) give the analytical mean current w R tau e and the membrane
    its steady state v_rest + I tau_m / cm (pyNN.neuron as shipped: about half)."""
    from pyNN_ann.surrogates.training.protocols import Protocol
    from pyNN_ann.surrogates.training.reference import run_in_subprocess
    one = lambda x: np.array([x])  # noqa: E731
    p = {"tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0, "cm": 1.0, "v_rest": -65.0,
         "v_thresh": 100.0, "v_reset": -70.0, "tau_refrac": 1.0, "i_offset": 0.0}
    w, rate = 0.001, 20.0
    protocol = Protocol(
        celltype="IF_curr_alpha", duration=200.0, dt=0.1,
        parameters={k: one(v) for k, v in p.items()}, v_init=one(-65.0),
        exc_spikes=[np.arange(1, 4000) / rate], inh_spikes=[np.array([])],
        exc_weight=one(w), inh_weight=one(0.0), delay=1.0)
    v = run_in_subprocess(protocol)["v"][0]
    expected = p["v_rest"] + w * rate * p["tau_syn_E"] * np.e * p["tau_m"] / p["cm"]
    assert abs(v[1500:].mean() - expected) < 0.02, (v[1500:].mean(), expected)


def test_a_reference_run_that_drops_input_spikes_fails(monkeypatch):
    """NEURON's one-line notice of a full alpha-synapse queue becomes an error."""
    import subprocess
    from pyNN_ann.surrogates.training import reference
    from pyNN_ann.surrogates.training.protocols import Protocol
    one = lambda x: np.array([x])  # noqa: E731
    protocol = Protocol(
        celltype="IF_curr_alpha", duration=10.0, dt=0.1,
        parameters={"tau_m": one(20.0)}, v_init=one(-65.0),
        exc_spikes=[np.array([1.0])], inh_spikes=[np.array([])],
        exc_weight=one(0.001), inh_weight=one(0.0), delay=1.0)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, stdout="Error in AlphaSynI. Spike queue is full\n", stderr=""))
    with pytest.raises(RuntimeError, match="dropped input spikes"):
        reference.run_in_subprocess(protocol)
