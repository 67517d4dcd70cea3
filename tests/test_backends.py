"""The engine gives the same results on the TensorFlow and the JAX backends of Keras.

Keras fixes its backend at import, so each backend runs the same network in its own
Python process (``KERAS_BACKEND``), and the results are compared here.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

NETWORK = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    import pyNN.ann as sim

    sim.setup(timestep=0.1, min_delay=0.1)
    rng = sim.NumpyRNG(7)
    hh = sim.Population(8, sim.HH_cond_exp())
    cells = sim.Population(12, sim.IF_cond_exp(
        tau_m=sim.RandomDistribution("uniform", (10, 30), rng=sim.NumpyRNG(3))))
    eif = sim.Population(6, sim.EIF_cond_exp_isfa_ista())
    izh = sim.Population(6, sim.Izhikevich(d=[2.0, 6.0, 8.0, 2.0, 0.05, 2.0],
                                           i_offset=[0.0, 0.005, 0.0, 0.01, 0.0, 0.0]))
    poisson = sim.Population(40, sim.SpikeSourcePoisson(rate=50.0))
    array = sim.Population(2, sim.SpikeSourceArray(spike_times=[5.0, 15.0, 25.0]))
    connect = lambda p: sim.FixedProbabilityConnector(p, rng=rng)
    sim.Projection(poisson, hh, connect(0.4), sim.StaticSynapse(weight=0.01, delay=1.0))
    sim.Projection(poisson, cells, connect(0.3), sim.TsodyksMarkramSynapse(
        weight=0.012, delay=0.5, U=0.5, tau_rec=100.0))
    stdp = sim.Projection(poisson, eif, connect(0.4), sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(),
        weight_dependence=sim.AdditiveWeightDependence(w_max=0.05), weight=0.01, delay=1.0))
    sim.Projection(hh, cells, connect(0.3), sim.StaticSynapse(weight=0.005, delay=2.0),
                   receptor_type="inhibitory")
    sim.Projection(array, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.02))
    sim.Projection(poisson, izh, connect(0.3), sim.StaticSynapse(weight=1.5, delay=1.0))
    sim.Projection(cells, izh, connect(0.5), sim.StaticSynapse(weight=-1.0, delay=0.5),
                   receptor_type="inhibitory")
    for synapse in (sim.SimpleStochasticSynapse(weight=0.004, delay=1.0, p=0.4),
                    sim.StochasticTsodyksMarkramSynapse(weight=0.004, delay=1.5, U=0.3,
                                                        tau_facil=50.0),
                    sim.MultiQuantalSynapse(weight=0.004, delay=0.7, n=4, U=0.4,
                                            tau_rec=50.0, tau_facil=20.0)):
        sim.Projection(poisson, cells, connect(0.3), synapse, receptor_type="inhibitory")
    sim.DCSource(amplitude=0.3, start=20.0, stop=80.0).inject_into(cells[:4])
    pn = sim.Population(6, sim.PointNeuron(  # four receptor channels in the loop
        sim.AdExp(tau_m=10.0, v_rest=-60.0), AMPA=sim.AlphaPSR(tau_syn=1.0),
        NMDA=sim.ExpPSR(tau_syn=20.0), GABAA=sim.BetaPSR(tau_rise=0.3, tau_decay=5.0,
                                                         e_syn=-70.0),
        GABAB=sim.AlphaPSR(tau_syn=15.0, e_syn=-90.0)))
    for receptor, w in (("AMPA", 0.02), ("NMDA", 0.002), ("GABAA", 0.01), ("GABAB", 0.003)):
        sim.Projection(poisson, pn, connect(0.3), sim.StaticSynapse(weight=w, delay=1.0),
                       receptor_type=receptor)
    pn.record("GABAA.gsyn")
    for p in (hh, cells, eif, izh, pn):
        p.record(["spikes", "v"])
    izh.record("u")
    cells.record("gsyn_inh")
    sim.run(60.0)
    sim.run(60.0)
    out = {"backend": keras.backend.backend(),
           "tensorflow_imported": "tensorflow" in sys.modules,
           "weights": np.nan_to_num(stdp.get("weight", format="array")).tolist()}
    for name, p in (("hh", hh), ("if", cells), ("eif", eif), ("izh", izh), ("pn", pn)):
        seg = p.get_data().segments[0]
        out[name + "_v"] = np.asarray(seg.filter(name="v")[0]).tolist()
        out[name + "_spikes"] = [np.asarray(s).tolist() for s in seg.spiketrains]
    out["if_gsyn_inh"] = np.asarray(
        cells.get_data().segments[0].filter(name="gsyn_inh")[0]).tolist()
    out["pn_gsyn"] = np.asarray(
        pn.get_data().segments[0].filter(name="GABAA.gsyn")[0]).tolist()
    out["izh_u"] = np.asarray(izh.get_data().segments[0].filter(name="u")[0]).tolist()
    json.dump(out, open(sys.argv[1], "w"))
""")


def _run(backend, tmp_path):
    script, result = tmp_path / "network.py", tmp_path / f"{backend}.json"
    script.write_text(NETWORK)
    env = dict(os.environ, KERAS_BACKEND=backend)
    done = subprocess.run([sys.executable, str(script), str(result)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(result.read_text())


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    pytest.importorskip("jax")
    tmp = tmp_path_factory.mktemp("backends")
    return _run("tensorflow", tmp), _run("jax", tmp)


def test_each_process_ran_on_its_backend(results):
    tf_run, jax_run = results
    assert tf_run["backend"] == "tensorflow" and jax_run["backend"] == "jax"
    assert not jax_run["tensorflow_imported"]  # the JAX path needs no TensorFlow


@pytest.mark.parametrize("population", ["hh", "if", "eif", "izh", "pn"])
def test_same_spikes_on_both_backends(results, population):
    tf_run, jax_run = results
    spikes = tf_run[population + "_spikes"]
    assert sum(len(s) for s in spikes) > 5  # the comparison is not between silent cells
    other = jax_run[population + "_spikes"]
    assert [len(s) for s in spikes] == [len(s) for s in other]
    for mine, theirs in zip(spikes, other):  # off-grid times: equal to float tolerance
        np.testing.assert_allclose(mine, theirs, atol=1e-4)


@pytest.mark.parametrize("population,tolerance", [("hh", 0.5), ("if", 1e-3), ("eif", 1e-3),
                                                           ("izh", 1e-2), ("pn", 1e-3)])
def test_same_membrane_potential_on_both_backends(results, population, tolerance):
    """Float32 results differ in rounding only; HH's steep upstroke amplifies it most."""
    tf_run, jax_run = results
    v_tf, v_jax = (np.array(r[population + "_v"]) for r in (tf_run, jax_run))
    assert v_tf.shape == v_jax.shape == (1201, len(tf_run[population + "_spikes"]))
    assert np.abs(v_tf - v_jax).max() < tolerance
    assert np.sqrt(np.mean((v_tf - v_jax) ** 2)) < tolerance / 10


def test_same_izhikevich_recovery_variable_on_both_backends(results):
    tf_run, jax_run = results
    u_tf, u_jax = (np.array(r["izh_u"]) for r in (tf_run, jax_run))
    assert np.ptp(u_tf) > 1.0  # u moved (spikes add d)
    np.testing.assert_allclose(u_tf, u_jax, atol=1e-2)


def test_same_receptor_conductance_on_both_backends(results):
    tf_run, jax_run = results
    g_tf, g_jax = (np.array(r["pn_gsyn"]) for r in (tf_run, jax_run))
    assert g_tf.max() > 0.005
    np.testing.assert_allclose(g_tf, g_jax, atol=1e-6)


def test_same_plastic_weights_on_both_backends(results):
    tf_run, jax_run = results
    w_tf, w_jax = np.array(tf_run["weights"]), np.array(jax_run["weights"])
    assert np.abs(w_tf - 0.01).max() > 1e-4  # STDP did change the weights
    np.testing.assert_allclose(w_tf, w_jax, atol=1e-6)


def test_same_stochastic_synapses_on_both_backends(results):
    """The stochastic synapses' counter-based random numbers are the same on both."""
    tf_run, jax_run = results
    g_tf, g_jax = (np.array(r["if_gsyn_inh"]) for r in (tf_run, jax_run))
    assert g_tf.max() > 0.01
    np.testing.assert_allclose(g_tf, g_jax, atol=1e-5)  # a release differs by ~0.005
