"""The shipped surrogate: integrity, domain, cost, and the engine's streaming path
against the straightforward sequence evaluation used in training."""

import json
import os
import shutil

import numpy as np
import pytest

from pyNN_ann.surrogates import registry

pytestmark = pytest.mark.skipif("HH_cond_exp" not in registry.available(),
                                reason="no shipped HH_cond_exp surrogate")


def test_metadata_and_cost():
    s = registry.load("HH_cond_exp")
    md = s.metadata
    assert md["celltype"] == "HH_cond_exp" and md["dt"] == 0.1
    assert md["format_version"] == registry.FORMAT_VERSION
    assert md["flops_per_step"] <= 50_000
    assert md["spike_threshold"] == 10.0
    size = sum(os.path.getsize(os.path.join(s.directory, f)) for f in os.listdir(s.directory))
    assert size < 5e6
    # the COBAHH values and PyNN's defaults lie in the declared domain
    s.check_parameters({"e_rev_leak": [-60.0, -65.0], "tau_syn_E": [5.0, 0.2],
                        "tau_syn_I": [10.0, 2.0], "gbar_Na": [20.0, 20.0]})


def test_out_of_domain_messages():
    s = registry.load("HH_cond_exp")
    with pytest.raises(registry.OutOfDomainError, match=r"gbar_Na = 50.0.*\[10.0, 40.0\]"):
        s.check_parameters({"gbar_Na": [20.0, 50.0]})
    with pytest.raises(registry.OutOfDomainError, match=r"v_offset = -60.0.*trained at v_offset = -63.0"):
        s.check_parameters({"v_offset": [-63.0, -60.0]})
    with pytest.raises(registry.OutOfDomainError, match=r"e_rev_leak = -90.0.*\[-70.0, -55.0\].*pynn-ann train"):
        s.check_parameters({"e_rev_leak": [-90.0]})
    with pytest.warns(registry.InputRangeWarning, match=r"initial v = 0.0 \(1 cell"):
        s.check_initial("v", [-65.0, 0.0])
    with pytest.raises(registry.OutOfDomainError, match="finite"):
        s.check_initial("v", [np.nan])


def test_tampered_weights_are_refused(tmp_path):
    src = registry.load("HH_cond_exp").directory
    dst = tmp_path / "HH_cond_exp"
    shutil.copytree(src, dst)
    with np.load(dst / "weights.npz") as w:
        arrays = [w[f"arr_{i}"] for i in range(len(w.files))]
    arrays[0] = arrays[0] + 1.0
    np.savez(dst / "weights.npz", *arrays)
    with pytest.raises(ValueError, match="checksum"):
        registry.Surrogate(str(dst))


def test_missing_model_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="no trained surrogate for IF_cond_exp"):
        registry.load("IF_cond_exp")


def test_engine_rollout_equals_sequence_evaluation():
    """The compiled engine loop and keras.layers.RNN over the same inputs agree."""
    import keras
    from pyNN_ann.surrogates.training.protocols import random_protocol
    from pyNN_ann.surrogates.training.rollout import run_on_engine
    from pyNN_ann.surrogates.training.dataset import synaptic_conductance
    from pyNN_ann.surrogates.training.specs import SPECS
    from pyNN_ann.engine.cell_rules import step_mean

    spec = SPECS["HH_cond_exp"]
    p = random_protocol(spec, 4, 200.0, seed=4242)
    out = run_on_engine(p, seed=0)
    n = out["v"].shape[1]
    s = registry.load("HH_cond_exp")
    cell = s.build_cell()
    ge = synaptic_conductance(p.exc_spikes, p.exc_weight, p.parameters["tau_syn_E"], p.delay, n, p.dt)
    gi = synaptic_conductance(p.inh_spikes, p.inh_weight, p.parameters["tau_syn_I"], p.delay, n, p.dt)
    inp = s.synaptic_inputs(p.parameters)
    columns = {"g_exc": ge[:, :-1], "g_inh": gi[:, :-1],
               **{k: inp[k][:, None] for k in ("e_rev_E", "e_rev_I", "i_ext")},
               "mean_E": step_mean(inp["tau_syn_E"], p.dt)[:, None],
               "mean_I": step_mean(inp["tau_syn_I"], p.dt)[:, None],
               **{k: inp[k][:, None] for k in getattr(cell, "CHANNELS", ())}}
    x = np.zeros((4, n - 1, len(cell.INPUTS)), np.float32)  # the rest (teachers) 0
    for i, name in enumerate(cell.INPUTS):
        if name in columns:
            x[:, :, i] = columns[name]
    rnn = keras.layers.RNN(cell, return_sequences=True)
    v = np.asarray(rnn(x, initial_state=cell.initial_state(p.v_init)))[:, :, 0]
    # identical maths; float32 rounding (engine: float32 delay ring; here: float64
    # kernels) differs slightly and grows near spike upstrokes

    np.testing.assert_allclose(out["v"][:, 1:501], v[:, :500], atol=0.1)
    assert np.abs(out["v"][:, 1:] - v).max() < 1.0
    np.testing.assert_allclose(out["v"][:, 0], p.v_init, atol=1e-5)


def _hh_spike_counts(**parameters):
    """Spikes of HH_cond_exp cells (PyNN's defaults but ``parameters``) without
    synaptic input over 1 s at dt 0.1."""
    import pyNN_ann as sim
    sim.setup(timestep=0.1)
    size = max(len(np.atleast_1d(v)) for v in parameters.values())
    cells = sim.Population(size, sim.HH_cond_exp(**parameters))
    cells.record("spikes")
    sim.run(1000.0)
    counts = [len(st) for st in cells.get_data().segments[0].spiketrains]
    sim.end()
    return counts


def test_hh_cell_without_input_stays_at_rest():
    """With no input an HH_cond_exp cell rests, as in the converged reference (the
    model shipped before 2026-12-04 drifted up from -65 mV and fired every ~160 ms)."""
    assert _hh_spike_counts(e_rev_leak=[-65.0, -70.0]) == [0, 0]


def test_dc_driven_hh_cells_fire_as_the_reference():
    """Spike counts in 1 s under DC: pyNN.neuron CVODE (rtol = atol = 1e-6) fires 14,
    24, 39 and 65 spikes at 0.05, 0.1, 0.2 and 0.4 nA (docs/results.md, 'DC-driven
    cells')."""
    counts = _hh_spike_counts(i_offset=[0.05, 0.1, 0.2, 0.4])
    np.testing.assert_allclose(counts, [14, 24, 39, 65], atol=3)


def test_strongly_driven_hh_cells_fire_as_the_reference():
    """Up to 1.2 nA (PyNN's examples/HH_cond_exp2.py injects 1 nA): pyNN.neuron CVODE
    fires 88, 109, 128 and 146 spikes in 1 s at 0.6, 0.8, 1.0 and 1.2 nA; the issue's
    rate target is 5 %."""
    counts = _hh_spike_counts(i_offset=[0.6, 0.8, 1.0, 1.2])
    np.testing.assert_allclose(counts, [88, 109, 128, 146], rtol=0.05)


def test_hh_current_beyond_the_trained_range_is_refused():
    import pyNN_ann as sim
    sim.setup(timestep=0.1)
    with pytest.raises(registry.OutOfDomainError, match=r"i_offset = 1.5.*\[-0.2, 1.2\]"):
        sim.Population(1, sim.HH_cond_exp(i_offset=1.5))
    sim.end()


def test_hh_cell_just_below_rheobase_stays_silent():
    """pyNN.neuron CVODE is silent at 0.017 nA and fires from 0.033 nA on (the
    pure-regression models shipped before the channel surrogate fired 3-12 spikes)."""
    assert _hh_spike_counts(i_offset=[0.015, 0.017, 0.033]) == [0, 0, 9]


def test_hh_first_spike_under_dc_comes_when_the_references_does():
    """First spike from rest (v -65 mV) under DC: pyNN.neuron CVODE at 37.944, 10.282
    and 6.002 ms for 0.05, 0.2 and 0.4 nA (``examples/fi_curve.py neuron --cvode``);
    pyNN.ann reports a spike at the end of the step in which v crosses the threshold,
    so within one step (0.1 ms) after it."""
    import pyNN_ann as sim
    sim.setup(timestep=0.1)
    cells = sim.Population(3, sim.HH_cond_exp(i_offset=[0.05, 0.2, 0.4]))
    cells.record("spikes")
    sim.run(60.0)
    first = [float(st[0]) for st in cells.get_data().segments[0].spiketrains]
    sim.end()
    lag = np.array(first) - [37.944, 10.282, 6.002]
    assert np.all((lag >= -0.02) & (lag <= 0.12)), first


def test_fine_tuning_keeps_the_initial_models_feature_scales():
    """`pynn-ann train --init`: the input scales are those the initial weights were
    trained with (not recomputed from the new data); from a model of another time step,
    only the output scale follows the new step."""
    from types import SimpleNamespace

    from pyNN_ann.surrogates.training.train import initial_norm
    directory = registry.find("HH_cond_exp", 0.01)
    weights = os.path.join(directory, "weights.npz")
    with open(os.path.join(directory, "metadata.json")) as f:
        trained = json.load(f)["architecture"]["norm"]
    from_data = {k: 0.5 * v for k, v in trained.items()}
    same = initial_norm(SimpleNamespace(init=weights, dt=0.01), dict(from_data))
    assert same == trained
    other = initial_norm(SimpleNamespace(init=weights, dt=0.025), dict(from_data, dv_scale=5.0))
    follows_step = {"dv_scale": 5.0, **({"dt": from_data["dt"]} if "dt" in trained else {})}
    assert other == dict(trained, **follows_step)
    assert initial_norm(SimpleNamespace(init=None, dt=0.1), from_data) == from_data


HETEROGENEOUS_CHANNELS = {"gbar_Na": [20.0, 12.0, 35.0, 20.0], "gbar_K": [6.0, 4.0, 10.0, 6.0],
                          "g_leak": [0.01, 0.04, 0.006, 0.01], "cm": [0.2, 0.15, 0.4, 0.3],
                          "e_rev_Na": [50.0, 45.0, 58.0, 50.0],
                          "e_rev_K": [-90.0, -85.0, -98.0, -90.0]}


def _dc_spike_counts(celltype_parameters, amplitude=0.3, duration=500.0):
    import pyNN_ann as sim
    sim.setup(timestep=0.1)
    size = len(next(iter(celltype_parameters.values())))
    cells = sim.Population(size, sim.HH_cond_exp(i_offset=amplitude, **celltype_parameters))
    cells.record("spikes")
    sim.run(duration)
    counts = [len(st) for st in cells.get_data().segments[0].spiketrains]
    return sim, cells, counts


def test_hh_cells_with_heterogeneous_channels_run_in_one_population():
    """Channel parameters are per-cell inputs of the dt-0.1 surrogate: a population
    mixing them runs in one batch, each cell as it runs alone, and Population.set
    between runs changes a cell's channels (its rate follows: more capacitance,
    slower firing under the same current)."""
    sim, cells, counts = _dc_spike_counts(HETEROGENEOUS_CHANNELS)
    sim.end()
    alone = [_dc_spike_counts({k: [v[i]] for k, v in HETEROGENEOUS_CHANNELS.items()})[2][0]
             for i in (1, 2)]
    sim.end()
    assert [counts[1], counts[2]] == alone
    assert counts[3] < counts[0]  # cm 0.3 vs 0.2 nF, otherwise equal
    sim, cells, _ = _dc_spike_counts({"cm": [0.2, 0.2]}, duration=500.0)
    cells[1:2].set(cm=0.3)
    sim.run(500.0)
    trains = cells.get_data().segments[0].spiketrains
    late = [int(np.sum(st.magnitude > 600.0)) for st in trains]  # after settling
    sim.end()
    assert late[1] < late[0]
