"""Accuracy of the shipped HH_cond_exp surrogate against the converged reference
(pyNN.neuron, CVODE rtol = atol = 1e-6) on held-out random protocols, pyNN.ann at
dt = 0.1 ms through the PyNN API. Slow: runs NEURON in a subprocess.

The HH floors are the issue's targets (Γ 0.9, rate error 5 %, Vm RMSE 1 mV), which the
channel surrogate meets (docs/results.md); the IF floors are regression guards.
"""

import numpy as np
import pytest

from pyNN_ann.surrogates import registry

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif("HH_cond_exp" not in registry.available(),
                                 reason="no shipped HH_cond_exp surrogate")]


TARGETS = {"gamma": 0.9, "rate": 5.0, "rmse": 1.0}


@pytest.mark.parametrize("regime,floors", [
    ("standard", TARGETS), ("high_conductance", TARGETS), ("strong_current", TARGETS),
    ("channels", TARGETS),  # heterogeneous gbar_Na, gbar_K, g_leak, cm, E_Na, E_K
])
def test_hh_cond_exp_against_converged_neuron(regime, floors):
    import pyNN.ann as sim
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    from pyNN_ann.surrogates.training.protocols import random_protocol
    from pyNN_ann.surrogates.training.reference import run_in_subprocess, run_protocol
    from pyNN_ann.surrogates.training.specs import SPECS
    from pyNN_ann.validation.metrics import compare

    ensure_neuron_mechanisms()
    protocol = random_protocol(SPECS["HH_cond_exp"], 12, 1000.0, seed=950001, regime=regime)
    ref = run_in_subprocess(protocol)
    ann = run_protocol(sim, protocol)
    m = compare(ref, ann, 0.1, protocol.duration)["aggregate"]
    assert m["rate_ref_hz"] > 5.0  # the protocol does make the cells fire
    assert m["gamma"] > floors["gamma"], m
    assert abs(m["rate_error_pct"]) < floors["rate"], m
    assert m["vm_rmse_mv"] < floors["rmse"], m
    counts = [[len(s) for s in r["spikes"]] for r in (ref, ann)]
    assert np.corrcoef(counts)[0, 1] > 0.9, counts  # each cell's rate is reproduced
    assert np.isfinite(ann["v"]).all()


IF_FLOORS = {  # regression guards on 10 cells (the 50-cell numbers: docs/validation/);
    # measured: 1.00 each, IF_cond_alpha 0.998, EIF_cond_alpha 0.907; gsfa_grr 1.00
    # (0.89 while its g_s, g_r jumps were not decayed from the crossing time)
    "IF_cond_exp": 0.9, "IF_curr_exp": 0.9, "IF_cond_alpha": 0.9, "IF_curr_alpha": 0.9,
    "IF_cond_exp_gsfa_grr": 0.9, "IF_facets_hardware1": 0.9,
    "EIF_cond_exp_isfa_ista": 0.9, "EIF_cond_alpha_isfa_ista": 0.85,
}


@pytest.mark.parametrize("celltype", sorted(IF_FLOORS))
def test_integrate_and_fire_types_against_converged_neuron(celltype):
    """Each integrate-and-fire type, 10 held-out cells x 1 s, heterogeneous parameters."""
    import pyNN.ann as sim
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    from pyNN_ann.surrogates.training.protocols import random_protocol
    from pyNN_ann.surrogates.training.reference import run_in_subprocess, run_protocol
    from pyNN_ann.surrogates.training.specs import SPECS
    from pyNN_ann.validation.metrics import compare

    ensure_neuron_mechanisms()
    protocol = random_protocol(SPECS[celltype], 10, 1000.0, seed=950002)
    ref = run_in_subprocess(protocol)
    ann = run_protocol(sim, protocol)
    m = compare(ref, ann, 0.1, protocol.duration)["aggregate"]
    assert m["rate_ref_hz"] > 1.0
    assert m["gamma"] > IF_FLOORS[celltype], m
    assert m["vm_rmse_mv"] < 8.0, m  # loose: one badly predicted cell dominates 10
    # 10 cells, some barely firing: compare per-cell spike counts, not one mean rate
    counts = np.array([[len(s) for s in r["spikes"]] for r in (ref, ann)])
    assert np.corrcoef(counts)[0, 1] > 0.9, counts
    assert abs(counts[1].sum() - counts[0].sum()) <= 0.4 * counts[0].sum() + 2, counts


def _lif_checked_every(check, exc, inh, weight, duration, h=0.001):
    """Spike trains of brunel.py's cell (IF_curr_alpha: tau_m 20 ms, cm 1 pF, tau_syn
    0.1 ms, threshold 20 mV, reset 0, 2 ms refractory) integrated exactly on an
    ``h`` grid, but with the threshold looked at only every ``check`` steps, as any
    simulator with step ``check * h`` does: the crossing time is interpolated
    linearly between two looks and the refractory period counted from it."""
    n, steps = len(exc), int(round(duration / h))
    kicks = np.zeros((steps + 1, n))
    for i in range(n):
        np.add.at(kicks[:, i], np.round(exc[i] / h).astype(int), weight)
        np.add.at(kicks[:, i], np.round(inh[i] / h).astype(int), -5.0 * weight)
    tau_s, tau_m, cm, v_th, t_ref = 0.1, 20.0, 0.001, 20.0, 2.0
    d_s, d_m = np.exp(-h / tau_s), np.exp(-h / tau_m)
    v, v_look, g, x, refrac = (np.zeros(n) for _ in range(5))
    spikes = [[] for _ in range(n)]
    for k in range(steps):
        x += kicks[k] * np.e / tau_s  # alpha kernel, peak = weight (nA)
        v = np.where(refrac <= 0, v * d_m + (1.0 - d_m) * tau_m * g / cm, 0.0)
        g, x, refrac = (g + h * x) * d_s, x * d_s, refrac - h
        if (k + 1) % check == 0:
            hit = (v >= v_th) & (refrac <= 0)
            rise = np.where(v != v_look, v - v_look, 1.0)
            lead = (1.0 - np.clip((v_th - v_look) / rise, 0.0, 1.0)) * check * h
            for i in np.nonzero(hit)[0]:
                spikes[i].append((k + 1) * h - lead[i])
            v, refrac = np.where(hit, 0.0, v), np.where(hit, t_ref - lead, refrac)
            v_look = v.copy()
    return [np.array(s) for s in spikes]


def test_brunel_cells_beyond_the_trained_drive_against_fine_neuron():
    """brunel.py's cells (IF_curr_alpha, cm 1 pF, tau_syn 0.1 ms = dt, 5-mV PSPs at tens
    of kHz of input) drive the membrane surrogate far beyond its training data: pyNN.ann
    says so (InputRangeWarning), and still tracks NEURON at dt 0.001 ms better than
    NEURON at its own dt 0.1. Inputs off the grid, as in the network (20 cells x 1 s:
    Γ 0.905, rate -0.9 %; NEURON dt 0.1 0.720, dt 0.025 0.911; docs/results.md).

    What is left is not the surrogate: the exact membrane with its threshold looked
    at only every 0.1 ms (crossings interpolated, as pyNN.ann does) misses the spikes
    whose excursion above threshold begins and ends within one step (20 cells x 1 s:
    Γ 0.913; looked at every 0.01 ms: 0.991). pyNN.ann stays close to that bound."""
    import pyNN.ann as sim
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    from pyNN_ann.surrogates.registry import InputRangeWarning
    from pyNN_ann.surrogates.training.protocols import Protocol
    from pyNN_ann.surrogates.training.reference import run_in_subprocess, run_protocol
    from pyNN_ann.validation.metrics import compare

    ensure_neuron_mechanisms()
    n, duration, dt = 10, 500.0, 0.1
    rng = np.random.default_rng(7)

    def trains(rate):
        # Poisson times on NEURON's 0.001-ms grid, one spike per time: pyNN.neuron's
        # VecStim stops for good at a repeated time (its "spike time before current
        # time" warning); several spikes share each 0.1-ms step of pyNN.ann
        out = []
        for _ in range(n):
            times = np.cumsum(rng.exponential(1000.0 / rate, int(rate * duration / 900)))
            out.append(np.unique(np.round(times[(times > 0.2) & (times < duration)], 3)))
        return out

    weight = (5.0 / 0.1) * 0.00041363506632638  # brunel.py's JE (nA)
    ones = np.ones(n)
    protocol = Protocol(
        celltype="IF_curr_alpha", duration=duration, dt=dt,
        parameters={"tau_m": 20.0 * ones, "tau_syn_E": 0.1 * ones, "tau_syn_I": 0.1 * ones,
                    "tau_refrac": 2.0 * ones, "v_rest": 0.0 * ones, "v_reset": 0.0 * ones,
                    "v_thresh": 20.0 * ones, "cm": 0.001 * ones, "i_offset": 0.0 * ones},
        v_init=0.0 * ones, exc_spikes=trains(36000.0), inh_spikes=trains(7000.0),
        exc_weight=weight * ones, inh_weight=-5.0 * weight * ones)
    ref = run_in_subprocess(protocol, options={}, timestep=0.001)
    coarse = run_in_subprocess(protocol, options={}, timestep=dt)
    with pytest.warns(InputRangeWarning, match="v_inf - v"):
        ann = run_protocol(sim, protocol)
    m = compare(ref, ann, dt, duration)["aggregate"]
    m_neuron = compare(ref, coarse, dt, duration)["aggregate"]
    assert m["rate_ref_hz"] > 50.0
    assert m["gamma"] > 0.85, m
    assert m["gamma"] > m_neuron["gamma"] + 0.08, (m, m_neuron)
    assert abs(m["rate_error_pct"]) < 5.0, m
    exact = {"spikes": _lif_checked_every(1, protocol.exc_spikes, protocol.inh_spikes,
                                          weight, duration), "v": None}
    looked = {"spikes": _lif_checked_every(100, protocol.exc_spikes, protocol.inh_spikes,
                                           weight, duration), "v": None}
    assert compare(ref, exact, dt, duration)["aggregate"]["gamma"] > 0.98  # the model
    bound = compare(ref, looked, dt, duration)["aggregate"]["gamma"]
    assert bound < 0.95, bound  # the grid alone loses spikes
    assert m["gamma"] > bound - 0.03, (m, bound)


def test_if_curr_delta_against_nest():
    """IF_curr_delta (absent from pyNN.neuron) against pyNN.nest at dt 0.01 ms, its
    reference: 10 held-out cells x 1 s."""
    pytest.importorskip("nest")
    import pyNN.ann as sim
    from pyNN_ann.surrogates.training.protocols import random_protocol
    from pyNN_ann.surrogates.training.reference import run_in_subprocess, run_protocol
    from pyNN_ann.surrogates.training.specs import SPECS
    from pyNN_ann.validation.metrics import compare

    spec = SPECS["IF_curr_delta"]
    assert spec.reference == "nest-dt0.01"
    protocol = random_protocol(spec, 10, 1000.0, seed=950002)
    ref = run_in_subprocess(protocol, "nest", options={}, timestep=0.01)
    ann = run_protocol(sim, protocol)
    m = compare(ref, ann, 0.1, protocol.duration)["aggregate"]
    assert m["rate_ref_hz"] > 1.0
    assert m["gamma"] > 0.6, m
    assert m["vm_rmse_mv"] < 3.0, m
    counts = np.array([[len(s) for s in r["spikes"]] for r in (ref, ann)])
    assert np.corrcoef(counts)[0, 1] > 0.9, counts


@pytest.mark.skipif("Izhikevich" not in registry.available(),
                    reason="no shipped Izhikevich surrogate")
def test_izhikevich_against_converged_neuron():
    """Izhikevich, 12 held-out cells x 1 s across the declared domain (random a, b, c,
    d, i_offset, delta-synaptic input). Some of these protocols are chaotic: the
    reference itself, rerun at rtol = atol = 1e-8, scores Γ ~ 0.7 against the 1e-6
    run here (docs/results.md). So pyNN.ann is held to the reference's own
    reproducibility, and spike counts must match cell by cell."""
    import pyNN.ann as sim
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    from pyNN_ann.surrogates.training.protocols import random_protocol
    from pyNN_ann.surrogates.training.reference import (CONVERGED_NEURON, run_in_subprocess,
                                                         run_protocol)
    from pyNN_ann.surrogates.training.specs import SPECS
    from pyNN_ann.validation.metrics import compare

    ensure_neuron_mechanisms()
    protocol = random_protocol(SPECS["Izhikevich"], 12, 1000.0, seed=950003)
    ref = run_in_subprocess(protocol)
    tighter = run_in_subprocess(protocol, options=dict(CONVERGED_NEURON, rtol=1e-8, atol=1e-8))
    ann = run_protocol(sim, protocol)
    m = compare(ref, ann, 0.1, protocol.duration)["aggregate"]
    ceiling = compare(ref, tighter, 0.1, protocol.duration)["aggregate"]
    assert m["rate_ref_hz"] > 5.0
    assert m["gamma"] > ceiling["gamma"] - 0.15, (m, ceiling)
    assert m["precision"] > ceiling["precision"] - 0.1, (m, ceiling)
    assert m["recall"] > ceiling["recall"] - 0.1, (m, ceiling)
    assert m["vm_rmse_mv"] < ceiling["vm_rmse_mv"] + 1.0, (m, ceiling)
    assert abs(m["rate_error_pct"]) < 5.0, m
    counts = np.array([[len(s) for s in r["spikes"]] for r in (ref, ann)])
    assert np.all(np.abs(counts[1] - counts[0]) <= 0.1 * counts[0] + 2), counts
    assert np.isfinite(ann["v"]).all() and np.isfinite(ann["u"]).all()
