"""Stochastic synapses: pyNN.neuron's stochastic weight adjusters in the compiled loop.

One network carries every kind: 16 presynaptic spike sources, each firing every 20 ms,
connect to every cell of a postsynaptic population with delays 1, 2, ... 16 ms, so
that the arrivals at a cell never coincide and each synapse's transmitted weight is
read back from the recorded conductance. The rules themselves (``stochastic_synapses``
with NumPy) are checked against the theory with large samples; the engine is checked
against the rules (identical random numbers) and, statistically, against the theory.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError
from scipy import stats

from pyNN_ann.engine import short_term_plasticity as stp
from pyNN_ann.engine import stochastic_synapses as sto

DT = 0.1
TAU_SYN = 5.0
W = 0.001
N_PRE = 16
SPIKES = 5.0 + 20.0 * np.arange(15)
DELAYS = 1.0 + np.arange(N_PRE)  # per presynaptic source
T_STOP = 310.0
P_OF_PRE = np.linspace(0.05, 0.95, N_PRE)
# population label -> (synapse type, parameters); "p" of "simple" is per source
SYNAPSES = {
    "simple": ("SimpleStochasticSynapse", {}),
    "depressing": ("StochasticTsodyksMarkramSynapse",
                   {"U": 0.5, "tau_rec": 100.0, "tau_facil": 0.0}),
    "facilitating": ("StochasticTsodyksMarkramSynapse",
                     {"U": 0.1, "tau_rec": 50.0, "tau_facil": 200.0}),
    "quantal": ("MultiQuantalSynapse", {"U": 0.3, "n": 5, "tau_rec": 80.0, "tau_facil": 30.0}),
}
Z = 4.5  # statistical bounds: 4.5 standard errors (two-sided p ~ 7e-6)


def _connections(n_post, label):
    rows = [(i, j, W, DELAYS[i]) + ((P_OF_PRE[i],) if label == "simple" else ())
            for j in range(n_post) for i in range(N_PRE)]
    names = ["weight", "delay"] + (["p"] if label == "simple" else [])
    return rows, names


def _build(sim, n_post):
    """The network on ``sim`` (pyNN.ann or pyNN.neuron); returns {label: (post, prj)}."""
    src = sim.Population(N_PRE, sim.SpikeSourceArray(spike_times=SPIKES))
    out = {}
    for label, (name, params) in SYNAPSES.items():
        post = sim.Population(n_post, sim.IF_cond_exp(tau_syn_E=TAU_SYN, tau_syn_I=TAU_SYN,
                                                      v_thresh=0.0), label=label)
        rows, names = _connections(n_post, label)
        prj = sim.Projection(src, post, sim.FromListConnector(rows, column_names=names),
                             getattr(sim, name)(**params))
        post.record("gsyn_exc")
        out[label] = (post, prj)
    return out


def _released(g):
    """(spikes x connections) fraction of W transmitted, from the recorded conductances
    g (samples x cells); connection j * N_PRE + i is source i -> cell j."""
    jumps = g[1:] / np.exp(-DT / TAU_SYN) - g[:-1]  # jump added at step k
    k = np.round((SPIKES[:, None] + DELAYS[None, :]) / DT).astype(int)  # spikes x N_PRE
    return np.concatenate([jumps[k, j] for j in range(g.shape[1])], axis=1) / W


def _run_ann(sim, n_post, seed=None):
    """The network on pyNN.ann, with static and (deterministic) Tsodyks-Markram synapses
    onto the inhibitory receptors of two populations as well."""
    sim.setup(timestep=DT, **({} if seed is None else {"rng_seed": seed}))
    net = _build(sim, n_post)
    src = net["simple"][1].pre
    for label, synapse in (("simple", sim.StaticSynapse()),
                           ("depressing", sim.TsodyksMarkramSynapse(**DETERMINISTIC_TM))):
        rows, names = _connections(n_post, "other")
        sim.Projection(src, net[label][0], sim.FromListConnector(rows, column_names=names),
                       synapse, receptor_type="inhibitory")
        net[label][0].record("gsyn_inh")
    sim.run(T_STOP)
    return net, _measure(net)


DETERMINISTIC_TM = {"U": 0.4, "tau_rec": 60.0, "tau_facil": 10.0}


def _measure(net):
    out = {}
    for label, (post, _) in net.items():
        segment = post.get_data().segments[-1]
        out[label] = _released(segment.filter(name="gsyn_exc")[0].magnitude)
        if segment.filter(name="gsyn_inh"):
            out[label + "_inh"] = _released(segment.filter(name="gsyn_inh")[0].magnitude)
    return out


# --- the rules, with NumPy --------------------------------------------------------------

def _rule_run(kind, params, ids, delay=1.0, seed=7, spikes=SPIKES):
    """Transmitted fractions (spikes x synapses) of the synapses ``ids`` of one kind
    and parameters (scalars), all sent ``spikes``, by the rules in NumPy."""
    n_syn = len(ids)
    cols = {k: np.full(n_syn, float(v), np.float32) for k, v in sto.COLUMNS.items()}
    cols.update({k: np.full(n_syn, float(v), np.float32) for k, v in params.items()})
    cols["kind"][:] = sto.CODES[kind]
    cols["id"] = np.asarray(ids)
    full = {k: np.full(n_syn, float(params[k])) for k in sto.PARAMETERS[kind]}
    state = {k: v.astype(np.float32) for k, v in sto.initial_state(kind, full, n_syn).items()}
    out = []
    for t in spikes:
        step = int(round(t / DT))  # the step at which the spike is sent
        arrival = np.float32(step + int(round(delay / DT))) * np.float32(DT)
        eff, state = sto.transmit(sto.NUMPY_OPS, (kind,), np.full(n_syn, W, np.float32),
                                  arrival, step, state, cols, sto.seed_key(seed),
                                  int(cols["n"].max()))
        out.append(eff / W)
    return np.array(out)


def _tm_expectation(U, tau_rec, tau_facil, spikes=SPIKES):
    """Mean transmitted fraction per spike: the deterministic Tsodyks-Markram synapse
    (this engine's ``short_term_plasticity``) with instantaneous inactivation."""
    state = stp.initial_state(1)
    params = {"U": np.array([U]), "tau_rec": np.array([tau_rec]),
              "tau_facil": np.array([tau_facil])}
    out = []
    for t in spikes:
        eff, state = stp.arrive(np, np.array([1.0]), np.array([t]), state, params,
                                np.array([1e-6]))
        out.append(eff[0])
    return np.array(out)


def _quantal_expectation(U, n, tau_rec, tau_facil, spikes=SPIKES):
    """Mean released sites per spike (quantal_stp.mod), from the recurrence of the
    expected number of available sites (linear in it, so exact)."""
    available, u, t_last, out = float(n), 0.5, -np.inf, []
    for t in spikes:
        h = t - t_last
        u = U + u * (1 - U) * (np.exp(-h / tau_facil) if tau_facil > 0 else 0.0)
        available = n - (n - available) * np.exp(-h / tau_rec)
        out.append(u * available)
        available -= u * available
        t_last = t
    return np.array(out)


def _within(observed, expected, sd, n):
    bound = Z * sd / np.sqrt(n)
    assert np.all(np.abs(observed - expected) <= bound), (observed, expected, bound)


def test_random_numbers_are_uniform_and_independent():
    key = sto.seed_key(42)
    steps, ids = np.arange(400)[:, None], np.arange(400)[None, :]
    u = sto.uniform(sto.NUMPY_OPS, key, steps, ids, 0)
    v = sto.uniform(sto.NUMPY_OPS, key, steps, ids, 1)
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1
    assert stats.kstest(u.ravel(), "uniform").pvalue > 1e-4
    for a, b in ((u[1:], u[:-1]), (u[:, 1:], u[:, :-1]), (u, v)):  # neighbours, streams
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < Z / np.sqrt(a.size)
    np.testing.assert_array_equal(sto.uniform(sto.NUMPY_OPS, key, steps, ids, 0), u)
    other = sto.uniform(sto.NUMPY_OPS, sto.seed_key(43), steps, ids, 0)
    assert np.mean(other == u) < 1e-3


def test_simple_rule_transmits_with_probability_p():
    for p in (0.0, 0.13, 0.5, 1.0):
        out = _rule_run("simple_stochastic", {"p": p}, np.arange(20000), spikes=SPIKES[:5])
        assert set(np.unique(out)) <= {0.0, 1.0}
        _within(out.mean(), p, np.sqrt(p * (1 - p)), out.size)


@pytest.mark.parametrize("label", ["depressing", "facilitating"])
def test_stochastic_tsodyks_markram_rule_mean_is_the_deterministic_model(label):
    params = SYNAPSES[label][1]
    out = _rule_run("stochastic_tsodyks_markram", params, np.arange(40000))
    assert set(np.unique(out)) <= {0.0, 1.0}  # one release site
    expected = _tm_expectation(**params)
    _within(out.mean(axis=1), expected, np.sqrt(expected * (1 - expected)), out.shape[1])
    # a synapse that has just released is likely not to have recovered (depletion)
    assert np.corrcoef(out[0], out[1])[0, 1] < -0.05
    # not independent draws at the mean rate: the wrong model would fail here
    assert abs(expected[-1] - params["U"]) > 10 * np.sqrt(0.25 / out.shape[1])


def test_multi_quantal_rule_binomial_release_and_depletion():
    params = dict(SYNAPSES["quantal"][1])
    n = params["n"]
    out = _rule_run("multi_quantal", params, np.arange(40000)) * n  # released sites
    np.testing.assert_allclose(out, np.round(out), atol=1e-4)
    released = np.round(out).astype(int)
    expected = _quantal_expectation(**params)
    q = expected / n
    # the sites are independent, so every spike releases Binomial(n, q) sites
    _within(released.mean(axis=1), expected, np.sqrt(n * q * (1 - q)), released.shape[1])
    for counts, q_m in zip(released, q):
        observed = np.bincount(counts, minlength=n + 1)
        assert len(observed) == n + 1
        assert stats.chisquare(observed, stats.binom.pmf(np.arange(n + 1), n, q_m)
                               * counts.size).pvalue > 1e-5
        assert abs(counts.var() / (n * q_m * (1 - q_m)) - 1) < Z * np.sqrt(2 / counts.size)
    assert q[0] == pytest.approx(params["U"])  # first spike: Binomial(n, U)
    assert expected[-1] < 0.8 * expected[0]  # the train depletes the sites
    # without depletion (tau_rec -> 0) every spike would release n u on average
    fresh = _quantal_expectation(params["U"], n, 1e-6, params["tau_facil"])
    assert np.all(np.abs(expected[1:] - fresh[1:]) > 10 * np.sqrt(n / out.shape[1]))


def test_parameters_out_of_range_raise(sim):
    with pytest.raises(InvalidParameterValueError, match=r"p must lie in \[0, 1\], got p = 1.5"):
        sim.SimpleStochasticSynapse(p=1.5)
    with pytest.raises(InvalidParameterValueError, match="got p = -0.2"):
        sim.SimpleStochasticSynapse(p=-0.2)
    with pytest.raises(InvalidParameterValueError, match="got U = 2"):
        sim.StochasticTsodyksMarkramSynapse(U=2.0)
    with pytest.raises(InvalidParameterValueError, match="got n = 0"):
        sim.MultiQuantalSynapse(n=0)  # (PyNN's schema makes n an int: 2.5 becomes 2)
    with pytest.raises(InvalidParameterValueError, match="tau_rec must be > 0 ms"):
        sim.MultiQuantalSynapse(tau_rec=0.0)
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(1, sim.IF_cond_exp())
    with pytest.raises(InvalidParameterValueError, match="got p = 1.25"):  # per synapse
        sim.Projection(src, post, sim.FromListConnector(
            [(0, 0, W, 1.0, 0.5), (1, 0, W, 1.0, 1.25)], column_names=["weight", "delay", "p"]),
            sim.SimpleStochasticSynapse())
    prj = sim.Projection(src, post, sim.AllToAllConnector(),
                         sim.SimpleStochasticSynapse(p=0.5, weight=W))
    with pytest.raises(InvalidParameterValueError, match="got p = 3"):
        prj.set(p=3.0)
    np.testing.assert_allclose(prj.get("p", format="list", with_address=False), 0.5)
    with pytest.raises(NotImplementedError, match="gap junction"):
        sim.ElectricalSynapse(weight=0.01)


def test_parameters_get_set_and_distributions(sim):
    from pyNN.random import NumpyRNG, RandomDistribution
    src = sim.Population(10, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(10, sim.IF_cond_exp())
    dist = RandomDistribution("uniform", (0.2, 0.8), rng=NumpyRNG(seed=3))
    prj = sim.Projection(src, post, sim.AllToAllConnector(),
                         sim.SimpleStochasticSynapse(p=dist, weight=W))
    p = prj.get("p", format="array")
    assert p.shape == (10, 10) and 0.2 <= p.min() and p.max() <= 0.8 and np.std(p) > 0.1
    quantal = sim.Projection(src, post, sim.OneToOneConnector(),
                             sim.MultiQuantalSynapse(U=0.3, n=4, tau_rec=50.0, weight=W))
    assert quantal.get("n", format="list", with_address=False) == [4.0] * 10
    quantal.set(n=np.diag(np.arange(1, 11)), U=0.7, tau_facil=20.0)  # (pre x post) arrays
    np.testing.assert_allclose(quantal.get(["n", "U", "tau_facil", "tau_rec"], format="array")
                               [0].diagonal(), np.arange(1, 11))
    np.testing.assert_allclose(quantal.get("U", format="list", with_address=False), 0.7)
    tm = sim.Projection(src, post, sim.OneToOneConnector(),
                        sim.StochasticTsodyksMarkramSynapse(U=0.2, tau_facil=10.0))
    tm.set(tau_rec=np.diag(np.linspace(10, 100, 10)))
    np.testing.assert_allclose(tm.get("tau_rec", format="list", with_address=False),
                               np.linspace(10, 100, 10))
    assert tm.get("tau_facil", format="list", with_address=False) == [10.0] * 10


# --- the engine -------------------------------------------------------------------------

N_POST = 100


@pytest.fixture(scope="module")
def ann():
    """The network on pyNN.ann: seed 7 in one run; after reset() in three runs; seed 7
    again, and seed 8, in fresh simulations."""
    import pyNN_ann as sim
    net, first = _run_ann(sim, N_POST, seed=7)
    sim.reset()
    for t in (100.0, 0.1, T_STOP - 100.1):  # and the same in three runs
        sim.run(t)
    split = _measure(net)
    sim.end()
    _, again = _run_ann(sim, N_POST, seed=7)
    sim.end()
    _, other = _run_ann(sim, N_POST, seed=8)
    sim.end()
    return {"first": first, "split": split, "again": again, "other": other}


def _kind(label):
    return {"SimpleStochasticSynapse": "simple_stochastic",
            "StochasticTsodyksMarkramSynapse": "stochastic_tsodyks_markram",
            "MultiQuantalSynapse": "multi_quantal"}[SYNAPSES[label][0]]


def test_engine_follows_the_rules_exactly(ann):
    """The loop draws the same random numbers as the NumPy rules: synapse ids are the
    positions in the order the projections were made, keys (seed, step of the spike)."""
    n_syn, offset = N_PRE * N_POST, 0
    for label, (_, params) in SYNAPSES.items():
        expected = np.zeros((len(SPIKES), n_syn))
        for i in range(N_PRE):  # connection j * N_PRE + i: source i -> cell j
            columns = dict(params, **({"p": P_OF_PRE[i]} if label == "simple" else {}))
            ids = offset + i + N_PRE * np.arange(N_POST)
            expected[:, i::N_PRE] = _rule_run(_kind(label), columns, ids, DELAYS[i])
        np.testing.assert_allclose(ann["first"][label], expected, atol=1e-4, err_msg=label)
        offset += n_syn


def test_engine_statistics(ann):
    out = ann["first"]
    simple = out["simple"]
    assert set(np.unique(np.round(simple, 4))) <= {0.0, 1.0}
    for i, p in enumerate(P_OF_PRE):  # 1500 spikes at each p
        _within(simple[:, i::N_PRE].mean(), p, np.sqrt(p * (1 - p)), simple[:, i::N_PRE].size)
    for label in ("depressing", "facilitating"):
        expected = _tm_expectation(**SYNAPSES[label][1])
        _within(out[label].mean(axis=1), expected, np.sqrt(expected * (1 - expected)),
                out[label].shape[1])
    params = SYNAPSES["quantal"][1]
    n = params["n"]
    expected = _quantal_expectation(**params)
    q = expected / n
    released = out["quantal"] * n
    _within(released.mean(axis=1), expected, np.sqrt(n * q * (1 - q)), released.shape[1])
    first = np.round(released[0]).astype(int)
    assert stats.chisquare(np.bincount(first, minlength=n + 1),
                           stats.binom.pmf(np.arange(n + 1), n, params["U"])
                           * first.size).pvalue > 1e-4


def test_static_and_deterministic_synapses_alongside(ann):
    """Static and Tsodyks-Markram synapses in the same network are unchanged."""
    np.testing.assert_allclose(ann["first"]["simple_inh"], 1.0, rtol=1e-4)
    tm = ann["first"]["depressing_inh"]
    for i in range(N_PRE):
        state = stp.initial_state(1)
        params = {k: np.array([v]) for k, v in DETERMINISTIC_TM.items()}
        expected = []
        for t in SPIKES + DELAYS[i]:
            eff, state = stp.arrive(np, np.array([1.0]), np.array([t]), state, params,
                                    np.array([TAU_SYN]))
            expected.append(eff[0])
        mine = tm[:, i::N_PRE]
        np.testing.assert_allclose(mine, np.broadcast_to(np.array(expected)[:, None],
                                                         mine.shape), rtol=1e-4)


def test_reproducible_and_seeded(ann):
    for label in ann["first"]:
        np.testing.assert_array_equal(ann["again"][label], ann["first"][label])
        np.testing.assert_allclose(ann["split"][label], ann["first"][label], atol=1e-5)
        if label.endswith("_inh"):
            continue
        differs = np.mean(np.abs(ann["other"][label] - ann["first"][label]) > 1e-3)
        assert differs > 0.1, label
        # the other seed has the same statistics
        a, b = ann["other"][label].mean(), ann["first"][label].mean()
        assert abs(a - b) < Z * np.sqrt(2 * 0.25 / ann["first"][label].size)


# --- against pyNN.neuron --------------------------------------------------------------

NEURON_SCRIPT = """
import json, sys
import numpy as np
import pyNN.neuron as sim
cfg = json.load(open(sys.argv[1]))
sim.setup(timestep=cfg["dt"])
src = sim.Population(len(cfg["delays"]), sim.SpikeSourceArray(spike_times=cfg["spikes"]))
posts = {}
for label, (name, params) in cfg["synapses"].items():
    post = sim.Population(cfg["n_post"], sim.IF_cond_exp(
        tau_syn_E=cfg["tau_syn"], tau_syn_I=cfg["tau_syn"], v_thresh=0.0))
    rows, names = cfg["connections"][label]
    sim.Projection(src, post, sim.FromListConnector([tuple(r) for r in rows],
                                                    column_names=names),
                   getattr(sim, name)(**params))
    post.record("gsyn_exc")
    posts[label] = post
sim.run(cfg["t_stop"])
json.dump({label: post.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude.tolist()
           for label, post in posts.items()}, open(sys.argv[2], "w"))
"""


def _run_neuron(n_post):
    pytest.importorskip("neuron")
    cfg = {"dt": DT, "tau_syn": TAU_SYN, "spikes": SPIKES.tolist(), "delays": DELAYS.tolist(),
           "n_post": n_post, "t_stop": T_STOP, "synapses": SYNAPSES,
           "connections": {label: _connections(n_post, label) for label in SYNAPSES}}
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, name) for name in ("run.py", "cfg.json", "out.json")]
        with open(paths[0], "w") as f:
            f.write(NEURON_SCRIPT)
        with open(paths[1], "w") as f:
            json.dump(cfg, f, default=float)
        proc = subprocess.run([sys.executable, *paths], check=False, capture_output=True,
                              text=True, cwd=tmp)
        assert proc.returncode == 0, proc.stderr[-3000:]
        with open(paths[2]) as f:
            return {label: _released(np.array(g)) for label, g in json.load(f).items()}


@pytest.mark.slow
def test_statistics_match_pyNN_neuron(ann):
    """Per spike of the train, the mean transmitted weight (and for MultiQuantalSynapse
    the distribution of released sites at the first spike) agree with pyNN.neuron's
    within two-sample bounds; pyNN.ann's two seeds are pooled."""
    nrn = _run_neuron(N_POST)
    for label in SYNAPSES:
        ours = np.concatenate([ann["first"][label], ann["other"][label]], axis=1)
        theirs = nrn[label]
        scale = SYNAPSES[label][1].get("n", 1)  # released sites
        if label == "simple":  # each source has its own p
            ours = np.stack([ours[:, i::N_PRE].ravel() for i in range(N_PRE)])
            theirs = np.stack([theirs[:, i::N_PRE].ravel() for i in range(N_PRE)])
        a, b = ours.mean(axis=1) * scale, theirs.mean(axis=1) * scale
        q = np.clip((a * ours.shape[1] + b * theirs.shape[1])
                    / (ours.shape[1] + theirs.shape[1]) / scale, 1e-3, 1 - 1e-3)
        sd = np.sqrt(scale * q * (1 - q) * (1 / ours.shape[1] + 1 / theirs.shape[1]))
        assert np.all(np.abs(a - b) <= Z * sd), (label, a, b, Z * sd)
        if label != "simple":  # and both follow the expectation
            expected = (_quantal_expectation(**SYNAPSES[label][1]) if label == "quantal"
                        else _tm_expectation(**SYNAPSES[label][1]))
            _within(b, expected, np.sqrt(scale * q * (1 - q)), theirs.shape[1])
    n = SYNAPSES["quantal"][1]["n"]
    counts = [np.bincount(np.round(x[0] * n).astype(int), minlength=n + 1)
              for x in (ann["first"]["quantal"], nrn["quantal"])]
    assert stats.chi2_contingency(np.array(counts)).pvalue > 1e-4


def test_multi_quantal_initial_sites_and_utilisation(sim):
    """``Projection.initialize(a=..., u=...)`` sets the available release sites and the
    utilisation (NEST quantal_stp's state); with U = 1 every available site releases,
    so the first spike transmits a / n of the weight, also after reset()."""
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    post = sim.Population(3, sim.IF_cond_exp(tau_syn_E=5.0))
    prj = [sim.Projection(src, post[i:i + 1], sim.AllToAllConnector(), sim.MultiQuantalSynapse(
        U=1.0, n=5, tau_rec=1e6, weight=0.01, delay=1.0)) for i in range(3)]
    prj[1].initialize(a=2, u=1.0)
    prj[2].initialize(a=0)
    post.record("gsyn_exc")

    def peaks():
        sim.run(20.0)
        g = post.get_data(clear=True).segments[-1].filter(name="gsyn_exc")[0]
        return np.asarray(g).max(axis=0)

    for run in range(2):  # (the sampled peak is within one step of decay of w)
        g = peaks()
        assert 0.0098 < g[0] <= 0.01, g
        np.testing.assert_allclose(g / g[0], [1.0, 0.4, 0.0], atol=1e-6)
        sim.reset()
    with pytest.raises(InvalidParameterValueError, match="a = 7.0"):
        prj[0].initialize(a=7)
    with pytest.raises(InvalidParameterValueError, match="u = 1.5"):
        prj[0].initialize(u=1.5)
    simple = sim.Projection(src, post, sim.AllToAllConnector(),
                            sim.SimpleStochasticSynapse(p=0.5, weight=0.01))
    with pytest.raises(NotImplementedError, match="no state variable 'a'"):
        simple.initialize(a=1)
