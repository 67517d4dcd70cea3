"""STDPMechanism: pyNN.neuron's weight adjusters, per synapse, in the compiled loop."""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError

DT = 0.1
SPIKE_PAIR = ("SpikePairRule", {"tau_plus": 15.0, "tau_minus": 25.0, "A_plus": 0.05,
                                "A_minus": 0.06})
VOGELS = ("Vogels2011Rule", {"tau": 20.0, "eta": 2e-4, "rho": 0.01})
DEPENDENCES = [("AdditiveWeightDependence", {"w_min": 0.001, "w_max": 0.01}),
               ("MultiplicativeWeightDependence", {"w_min": 0.0, "w_max": 0.01}),
               ("AdditivePotentiationMultiplicativeDepression", {"w_min": 0.0, "w_max": 0.01}),
               ("GutigWeightDependence", {"w_min": 0.0, "w_max": 0.01, "mu_plus": 0.3,
                                          "mu_minus": 0.7})]
RULES = [(SPIKE_PAIR, dep) for dep in DEPENDENCES] + [(VOGELS, DEPENDENCES[0])]


def reference(pre, post, delay, ddf, timing, dependence, w0, until=np.inf):
    """Weight of one synapse after the adjuster events up to ``until``, and the weight
    after each presynaptic event: pyNN.neuron's NMODL rules (allow_update_on_post = 0,
    presynaptic events first at equal times), clipped to [w_min, w_max]."""
    (rule, p), (dep, q) = timing, dependence
    p = {"tau_plus": 20.0, "tau_minus": 20.0, "A_plus": 0.01, "A_minus": 0.01, "tau": 20.0,
         "eta": 1e-10, "rho": 3.0, **p}  # PyNN's defaults
    events = sorted([(t + (1 - ddf) * delay, 0) for t in pre]
                    + [(t + ddf * delay, 1) for t in post])
    w_min, w_max = q["w_min"], q["w_max"]
    mu_plus, mu_minus = {"AdditivePotentiationMultiplicativeDepression": (0.0, 1.0),
                         "GutigWeightDependence": (q.get("mu_plus"), q.get("mu_minus"))
                         }.get(dep, (1.0, 1.0))
    w, dw, P, M, t_pre, t_post, history = w0, 0.0, 0.0, 0.0, 0.0, 0.0, []
    for t, is_post in events:
        if t > until + 1e-9:
            break
        if rule == "Vogels2011Rule":
            if is_post:
                dw += p["eta"] * np.exp(-(t - t_pre) / p["tau"]) * (P > 0)
                M, t_post = 1.0, t
                continue
            dw += p["eta"] * (np.exp(-(t - t_post) / p["tau"]) * M - 2 * p["rho"] * p["tau"])
            P, t_pre = 1.0, t
        elif is_post:
            M = M * np.exp(-(t - t_post) / p["tau_minus"]) - p["A_minus"]
            scale = w_max if dep == "AdditiveWeightDependence" else (w_max - w) ** mu_plus
            dw += scale * P * np.exp(-(t - t_pre) / p["tau_plus"])
            t_post = t
            continue
        else:
            P = P * np.exp(-(t - t_pre) / p["tau_plus"]) + p["A_plus"]
            scale = w_max if dep == "AdditiveWeightDependence" else (w - w_min) ** mu_minus
            dw += scale * M * np.exp(-(t - t_post) / p["tau_minus"])
            t_pre = t
        if dep == "MultiplicativeWeightDependence" and w <= 0:
            w = 0.0
        else:
            w = min(max(w + dw, w_min), w_max)
        dw = 0.0
        history.append((t, w))
    return w, history


def _train(rng, rate, t_stop, start=5.0, min_isi=0.0):
    """Grid-aligned random spike times (ms), about ``rate`` Hz, intervals >= min_isi."""
    steps = np.unique(rng.integers(int(start / DT), int(t_stop / DT),
                                   int(rate * t_stop / 1000)))
    kept = [steps[0]]
    for s in steps[1:]:
        if (s - kept[-1]) * DT > min_isi - 1e-9:
            kept.append(s)
    return np.array(kept) * DT


def _stdp(sim, timing, dependence, ddf=1.0, w0=0.005):
    return sim.STDPMechanism(timing_dependence=getattr(sim, timing[0])(**timing[1]),
                             weight_dependence=getattr(sim, dependence[0])(**dependence[1]),
                             weight=w0, delay=1.0, dendritic_delay_fraction=ddf)


def _network(sim, timing, dependence, pre_trains, drive_trains, delays, ddf=1.0, w0=0.005,
             rules=None):
    """Array sources -> IF_cond_exp cells through STDP (one projection per rule of
    ``rules``, default [(timing, dependence)]); each cell fires one step after each
    arrival of its strong static drive."""
    pre = sim.Population(len(pre_trains), sim.SpikeSourceArray(spike_times=pre_trains))
    drive = sim.Population(len(drive_trains), sim.SpikeSourceArray(spike_times=drive_trains))
    post = sim.Population(len(drive_trains), sim.IF_cond_exp(tau_refrac=5.0, tau_syn_E=1.0))
    projections = []
    for t, d in rules or [(timing, dependence)]:
        prj = sim.Projection(pre, post, sim.AllToAllConnector(), _stdp(sim, t, d, ddf, w0))
        prj.set(delay=delays)
        projections.append(prj)
    sim.Projection(drive, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=0.1))
    post.record("spikes")
    return (projections if rules else projections[0]), post


def _post_spikes(post):
    """Recorded spike times, as the plasticity rule sees them: at the end of their
    step (STDP pairs spikes on the grid, also with spike_precision="off_grid")."""
    return [np.ceil(np.asarray(st.magnitude) / DT - 1e-6) * DT
            for st in post.get_data().segments[-1].spiketrains]


def _expected(prj, pre_trains, post_trains, delays, ddf, timing, dependence, w0=0.005, **kw):
    w = np.full(delays.shape, np.nan)
    for i, j in np.ndindex(delays.shape):
        w[i, j] = reference(pre_trains[i], post_trains[j], delays[i, j], ddf, timing,
                            dependence, w0, **kw)[0]
    return w


ENGINE_NAMES = {"SpikePairRule": "spike_pair", "Vogels2011Rule": "vogels2011",
                "AdditiveWeightDependence": "additive",
                "MultiplicativeWeightDependence": "multiplicative",
                "AdditivePotentiationMultiplicativeDepression":
                    "additive_potentiation_multiplicative_depression",
                "GutigWeightDependence": "gutig"}


@pytest.mark.parametrize("timing, dependence", RULES, ids=[d[0] for _, d in RULES])
def test_rule_functions_match_the_reference(timing, dependence):
    """The engine's tensor functions, run with NumPy, against the reference."""
    from pyNN_ann.engine import stdp
    rng = np.random.default_rng(2)
    pre, post = _train(rng, 50.0, 400.0), _train(rng, 40.0, 400.0)
    kinds = ENGINE_NAMES[timing[0]], ENGINE_NAMES[dependence[0]]
    params = {k: stdp.DEFAULTS[k] for k in stdp.parameter_names(*kinds)}
    params.update(timing[1], **dependence[1])
    cols = stdp.columns(*kinds, params, 1)
    state = stdp.initial_state([0.005])
    events = sorted([(round(t / DT), 0) for t in pre] + [(round(t / DT), 1) for t in post])
    for k, is_post in events:
        rule = stdp.on_post if is_post else stdp.on_pre
        state = rule(stdp.NUMPY_OPS, state, np.array([k]), DT, cols)
    w, _ = reference(pre, post, 0.0, 1.0, timing, dependence, 0.005)
    assert state["w"][0] == pytest.approx(w, rel=1e-12)
    assert abs(w - 0.005) > 1e-4


def test_engine_parameter_checks():
    from pyNN_ann.engine import stdp
    good = {k: np.array([v]) for k, v in stdp.DEFAULTS.items()}
    stdp.check("spike_pair", "gutig", good)
    for name, value, message in [("tau_plus", 0.0, "tau_plus must be > 0"),
                                 ("A_minus", -0.1, "A_minus must be >= 0"),
                                 ("mu_plus", np.nan, "mu_plus must be finite"),
                                 ("w_min", 2.0, "w_min must not exceed w_max"),
                                 ("dendritic_delay_fraction", 1.5, "must lie in")]:
        with pytest.raises(ValueError, match=message):
            stdp.check("spike_pair", "gutig", dict(good, **{name: np.array([value])}))
    with pytest.raises(ValueError, match="unknown STDP timing rule"):
        stdp.check("triplet", "additive", good)


@pytest.mark.parametrize("ddf", [1.0, 0.0, 0.5])
def test_weights_follow_the_rule(sim, ddf):
    """Every timing rule x weight dependence, one projection each, in one network."""
    rng = np.random.default_rng(3)
    pre_trains = [_train(rng, 40.0, 300.0) for _ in range(4)]
    drive_trains = [_train(rng, 25.0, 300.0, min_isi=8.0) for _ in range(2)]
    delays = rng.choice([0.2, 1.0, 2.4], size=(4, 2))
    projections, post = _network(sim, None, None, pre_trains, drive_trains, delays, ddf,
                                 rules=RULES)
    sim.run(320.0)
    post_trains = _post_spikes(post)
    for drive, spikes in zip(drive_trains, post_trains):  # fired as imposed
        np.testing.assert_allclose(spikes, drive + 0.2, atol=1e-6)
    for prj, (timing, dependence) in zip(projections, RULES):
        expected = _expected(prj, pre_trains, post_trains, delays, ddf, timing, dependence)
        weights = prj.get("weight", format="array")
        assert np.abs(expected - 0.005).max() > 1e-4, dependence  # the weights did change
        np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-10,
                                   err_msg=f"{timing[0]}, {dependence[0]}")


def test_arrivals_use_the_current_weight(sim):
    """With dendritic_delay_fraction 1, a spike is delivered with the weight after the
    adjuster events up to its arrival, including later presynaptic spikes."""
    pre_train = np.array([10.0, 11.0, 12.0, 30.0, 30.5, 60.0])
    drive = np.array([8.0, 20.0, 45.0])
    timing = ("SpikePairRule", {"A_plus": 0.2, "A_minus": 0.3})
    dependence = ("AdditiveWeightDependence", {"w_min": 0.0, "w_max": 0.02})
    _, post = _network(sim, timing, dependence, [pre_train], [drive], np.array([[3.0]]))
    post.record("gsyn_exc")
    sim.run(80.0)
    g = post.get_data().segments[-1].filter(name="gsyn_exc")[0].magnitude[:, 0]
    _, history = reference(pre_train, _post_spikes(post)[0], 3.0, 1.0, timing, dependence,
                           0.005)
    times, weights = np.array(history).T
    for t in pre_train + 3.0:
        k = round(t / DT)
        jump = g[k + 1] / np.exp(-DT / 1.0) - g[k]  # tau_syn_E = 1 ms
        w = weights[np.searchsorted(times, t + 1e-9) - 1]
        assert jump == pytest.approx(w, rel=1e-4)


def test_weights_stay_within_bounds(sim):
    rules = [(("SpikePairRule", {"A_plus": 0.002 if "Potentiation" in d[0] else 0.1,
                                 "A_minus": 0.1}), d) for d in DEPENDENCES]
    rules.append((("Vogels2011Rule", {"eta": 0.002, "rho": 0.02}), DEPENDENCES[0]))
    pre = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0))
    post = sim.Population(3, sim.IF_cond_exp(tau_refrac=5.0))
    drive = sim.Population(3, sim.SpikeSourcePoisson(rate=40.0))
    sim.Projection(drive, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.5))
    projections = []
    for timing, (dep, q) in rules:
        syn = sim.STDPMechanism(timing_dependence=getattr(sim, timing[0])(**timing[1]),
                                weight_dependence=getattr(sim, dep)(**q),
                                weight=sim.RandomDistribution("uniform", (0.0, 0.01)),
                                delay=1.0)
        projections.append((q, sim.Projection(pre, post, sim.AllToAllConnector(), syn,
                                              receptor_type="inhibitory")))
    sim.run(500.0)
    for q, prj in projections:
        w = prj.get("weight", format="array")
        assert np.all(np.isfinite(w))
        assert w.min() >= q["w_min"] - 1e-9 and w.max() <= q["w_max"] + 1e-9
        assert np.ptp(w) > 1e-3  # they moved


def test_reset_split_runs_and_callbacks(sim):
    rng = np.random.default_rng(5)
    pre_trains = [_train(rng, 40.0, 200.0) for _ in range(3)]
    drive_trains = [_train(rng, 30.0, 200.0, min_isi=8.0)]
    delays = np.array([[1.0], [2.0], [0.5]])
    prj, post = _network(sim, SPIKE_PAIR, DEPENDENCES[1], pre_trains, drive_trains, delays)
    initial = prj.get("weight", format="array")
    seen = []

    def every_25ms(t):
        seen.append((t, prj.get("weight", format="array")))
        return t + 25.0

    sim.run(200.0, callbacks=[every_25ms])
    final = prj.get("weight", format="array")
    post_trains = _post_spikes(post)
    for t, w in seen:  # the weights after the events up to t
        np.testing.assert_allclose(w, _expected(prj, pre_trains, post_trains, delays, 1.0,
                                                SPIKE_PAIR, DEPENDENCES[1], until=t),
                                   rtol=1e-5)
    sim.reset()
    np.testing.assert_array_equal(prj.get("weight", format="array"), initial)
    for _ in range(4):
        sim.run(50.0)
    np.testing.assert_allclose(prj.get("weight", format="array"), final, rtol=1e-6)
    sim.reset()
    prj.set(weight=0.002)  # also the value that reset() restores
    sim.run(10.0)
    sim.reset()
    np.testing.assert_allclose(prj.get("weight", format="array"), 0.002)


def test_parameters_get_set_and_errors(sim):
    pre = sim.Population(2, sim.SpikeSourceArray(spike_times=[10.0, 20.0]))
    post = sim.Population(1, sim.IF_cond_exp())
    syn = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=10.0),
                            weight_dependence=sim.GutigWeightDependence(mu_plus=0.2),
                            weight=0.1, delay=1.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), syn)
    assert prj.get("tau_plus", format="list")[0][2] == pytest.approx(10.0)
    assert prj.get("mu_plus", format="array")[1, 0] == pytest.approx(0.2)
    prj.set(A_minus=0.02, w_max=0.5)
    assert prj.get("A_minus", format="list")[0][2] == pytest.approx(0.02)
    np.testing.assert_allclose(prj.get("w_max", format="array"), 0.5)
    with pytest.raises(InvalidParameterValueError, match="tau_minus must be > 0"):
        prj.set(tau_minus=-1.0)
    with pytest.raises(InvalidParameterValueError, match="w_min must not exceed w_max"):
        prj.set(w_min=1.0)
    bad = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                            weight_dependence=sim.AdditiveWeightDependence(w_min=2.0, w_max=1.0))
    with pytest.raises(InvalidParameterValueError, match="w_min must not exceed"):
        sim.Projection(pre, post, sim.AllToAllConnector(), bad)
    with pytest.raises(NotImplementedError, match="Vogels2011Rule with the multiplicative"):
        sim.STDPMechanism(timing_dependence=sim.Vogels2011Rule(),
                          weight_dependence=sim.MultiplicativeWeightDependence())
    odd = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                            weight_dependence=sim.AdditiveWeightDependence(), delay=0.3,
                            dendritic_delay_fraction=0.5)
    with pytest.raises(NotImplementedError, match="multiple of the time step"):
        sim.Projection(pre, post, sim.AllToAllConnector(), odd)


def test_static_and_tsodyks_markram_synapses_are_unaffected(sim):
    """The same static and TM inputs, with and without STDP synapses beside them."""
    def run(with_stdp):
        sim.setup(timestep=DT)
        src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[10.0, 30.0], [15.0, 40.0]]))
        post = sim.Population(2, sim.IF_cond_exp())
        sim.Projection(src, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.01))
        sim.Projection(src, post, sim.AllToAllConnector(),
                       sim.TsodyksMarkramSynapse(weight=0.02, U=0.5, tau_rec=100.0),
                       receptor_type="inhibitory")
        if with_stdp:
            sim.Projection(src, post[1:], sim.AllToAllConnector(), sim.STDPMechanism(
                timing_dependence=sim.SpikePairRule(),
                weight_dependence=sim.AdditiveWeightDependence(), weight=0.0))
        post.record(["gsyn_exc", "gsyn_inh"])
        sim.run(60.0)
        seg = post.get_data().segments[0]
        return [seg.filter(name=n)[0].magnitude for n in ("gsyn_exc", "gsyn_inh")]

    for a, b in zip(run(False), run(True)):
        np.testing.assert_array_equal(a, b)


# --- against pyNN.neuron --------------------------------------------------------------

NEURON_SCRIPT = """
import json, sys
import numpy as np
import pyNN.neuron as sim
cfg = json.load(open(sys.argv[1]))
sim.setup(timestep=0.1)
pre = sim.Population(len(cfg["pre"]), sim.SpikeSourceArray(
    spike_times=[np.array(t) for t in cfg["pre"]]))
drive = sim.Population(len(cfg["drive"]), sim.SpikeSourceArray(
    spike_times=[np.array(t) for t in cfg["drive"]]))
post = sim.Population(len(cfg["drive"]), sim.IF_cond_exp(tau_refrac=5.0, tau_syn_E=1.0))
syn = sim.STDPMechanism(
    timing_dependence=getattr(sim, cfg["timing"][0])(**cfg["timing"][1]),
    weight_dependence=getattr(sim, cfg["dependence"][0])(**cfg["dependence"][1]),
    weight=0.005, delay=1.0, dendritic_delay_fraction=cfg["ddf"])
prj = sim.Projection(pre, post, sim.AllToAllConnector(), syn)
prj.set(delay=np.array(cfg["delays"]))
sim.Projection(drive, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0, delay=0.1))
post.record("spikes")
sim.run(cfg["t_stop"])
json.dump({"weights": prj.get("weight", format="array").tolist(),
           "post": [st.magnitude.tolist() for st in post.get_data().segments[0].spiketrains]},
          open(sys.argv[2], "w"))
"""


def _run_neuron(cfg):
    pytest.importorskip("neuron")
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, name) for name in ("run.py", "cfg.json", "out.json")]
        with open(paths[0], "w") as f:
            f.write(NEURON_SCRIPT)
        with open(paths[1], "w") as f:
            json.dump(cfg, f)
        proc = subprocess.run([sys.executable, *paths], check=False, capture_output=True,
                              text=True, cwd=tmp)
        assert proc.returncode == 0, proc.stderr[-3000:]
        with open(paths[2]) as f:
            return json.load(f)


def _without_ties(rng, drive_trains, delays, ddf, rate, t_stop):
    """Presynaptic trains whose adjuster events never coincide with postsynaptic ones
    (pyNN.neuron orders those by rounding noise)."""
    trains = []
    for i in range(delays.shape[0]):
        train = _train(rng, rate, t_stop)
        for j, drive in enumerate(drive_trains):
            post_seen = drive + 0.2 + ddf * delays[i, j] - (1 - ddf) * delays[i, j]
            clash = np.isclose(train[:, None], post_seen[None, :], atol=1e-6).any(axis=1)
            train = train[~clash]
        trains.append(train)
    return trains


# NEURON does not clip its soft-bound rules: amplitudes that keep them within bounds
SMALL_STEPS = ("SpikePairRule", dict(SPIKE_PAIR[1], A_plus=0.0005))
SOFT_GUTIG = ("GutigWeightDependence", dict(DEPENDENCES[3][1], mu_plus=0.8, mu_minus=0.8))


@pytest.mark.slow
@pytest.mark.parametrize("timing, dependence, ddf", [
    (SPIKE_PAIR, DEPENDENCES[0], 1.0), (SPIKE_PAIR, DEPENDENCES[1], 0.0),
    (SMALL_STEPS, DEPENDENCES[2], 0.5), (SPIKE_PAIR, SOFT_GUTIG, 1.0),
    (VOGELS, DEPENDENCES[0], 1.0)], ids=["additive", "multiplicative", "apmd", "gutig",
                                         "vogels"])
def test_final_weights_match_pyNN_neuron(sim, timing, dependence, ddf):
    rng = np.random.default_rng(11)
    drive_trains = [_train(rng, 20.0, 500.0, min_isi=8.0) for _ in range(2)]
    delays = rng.choice([1.0, 2.0, 3.6], size=(5, 2))
    pre_trains = _without_ties(rng, drive_trains, delays, ddf, 30.0, 500.0)
    cfg = {"pre": [t.tolist() for t in pre_trains], "drive": [t.tolist() for t in drive_trains],
           "timing": timing, "dependence": dependence, "ddf": ddf,
           "delays": delays.tolist(), "t_stop": 520.0}
    nrn = _run_neuron(cfg)
    prj, post = _network(sim, timing, dependence, pre_trains, drive_trains, delays, ddf)
    sim.run(520.0)
    for ours, theirs in zip(_post_spikes(post), nrn["post"]):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    weights = prj.get("weight", format="array")
    assert np.abs(weights - 0.005).max() > 1e-4
    np.testing.assert_allclose(weights, np.array(nrn["weights"]), rtol=1e-5, atol=1e-10)
