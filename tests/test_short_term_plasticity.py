"""TsodyksMarkramSynapse: exact event-driven short-term plasticity in the engine."""

import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError

from pyNN_ann.engine import short_term_plasticity as stp

SPIKES = np.arange(10.0, 100.0, 10.0)


def _expected_weights(w, U, tau_rec, tau_facil, tau_syn, arrivals):
    """The model's recurrence in plain NumPy, one arrival at a time."""
    state = stp.initial_state(1)
    params = {"U": np.array([U]), "tau_rec": np.array([tau_rec]),
              "tau_facil": np.array([tau_facil])}
    out = []
    for t in arrivals:
        eff, state = stp.arrive(np, np.array([w]), np.array([t]), state, params,
                                np.array([tau_syn]))
        out.append(float(eff[0]))
    return np.array(out)


def _network(sim, synapse, tau_syn=5.0):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=SPIKES))
    post = sim.Population(1, sim.IF_cond_exp(tau_syn_I=tau_syn, v_thresh=0.0))
    prj = sim.Projection(src, post, sim.AllToAllConnector(), synapse,
                         receptor_type="inhibitory")
    post.record("gsyn_inh")
    return post, prj


def _jumps(post, delay, tau_syn):
    """Weight added at each arrival, read back from the recorded conductance."""
    g = post.get_data().segments[-1].filter(name="gsyn_inh")[0].magnitude[:, 0]
    k = np.round((SPIKES + delay) / 0.1).astype(int)
    decay = np.exp(-0.1 / tau_syn)
    # recorded g[k+1] = (g_before + jump) * decay, g_before = g[k]
    return g[k + 1] / decay - g[k]


@pytest.mark.parametrize("U, tau_rec, tau_facil", [(0.5, 800.0, 0.0), (0.04, 100.0, 1000.0),
                                                  (0.2, 5.0, 5.0)])
def test_effective_weights_follow_the_model(sim, U, tau_rec, tau_facil):
    syn = sim.TsodyksMarkramSynapse(U=U, tau_rec=tau_rec, tau_facil=tau_facil, weight=0.01,
                                    delay=0.5)
    post, _ = _network(sim, syn)
    sim.run(120.0)
    expected = _expected_weights(0.01, U, tau_rec, tau_facil, 5.0, SPIKES + 0.5)
    np.testing.assert_allclose(_jumps(post, 0.5, 5.0), expected, rtol=1e-4, atol=1e-9)
    if tau_facil == 0:
        assert expected[-1] < 0.5 * expected[0]  # depression
    elif tau_rec == 100.0:
        assert expected[1] > expected[0]          # facilitation


def test_split_runs_reset_and_parameters(sim):
    syn = sim.TsodyksMarkramSynapse(U=0.5, tau_rec=200.0, weight=0.02, delay=1.0)
    post, prj = _network(sim, syn)
    sim.run(120.0)
    first = _jumps(post, 1.0, 5.0)
    sim.reset()
    for _ in range(4):
        sim.run(30.0)
    np.testing.assert_allclose(_jumps(post, 1.0, 5.0), first, rtol=1e-6)
    np.testing.assert_allclose(prj.get("U", format="array"), [[0.5]])
    prj.set(U=0.1, tau_rec=50.0)
    assert prj.get("tau_rec", format="list")[0][2] == pytest.approx(50.0)
    with pytest.raises(InvalidParameterValueError, match="U must lie in"):
        prj.set(U=1.5)


def test_static_synapses_in_the_same_network_are_unchanged(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=SPIKES))
    post = sim.Population(2, sim.IF_cond_exp(v_thresh=0.0))
    sim.Projection(src, post[0:1], sim.AllToAllConnector(),
                   sim.TsodyksMarkramSynapse(U=0.5, tau_rec=800.0, weight=0.01, delay=0.5))
    sim.Projection(src, post[1:2], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.01, delay=0.5))
    post.record("gsyn_exc")
    sim.run(120.0)
    g = post.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude
    k = np.round((SPIKES + 0.5) / 0.1).astype(int)
    jumps = g[k + 1] / np.exp(-0.1 / 5.0) - g[k]
    np.testing.assert_allclose(jumps[:, 1], 0.01, rtol=1e-5)
    assert jumps[-1, 0] < jumps[0, 0] * 0.5
