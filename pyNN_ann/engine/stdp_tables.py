"""Host-side tables of the STDP synapses for the compiled loop.

STDP synapses are numbered by concatenating the STDP projections. Each step, the loop
makes three passes over them, each over the synapses of the neurons that spiked a
fixed number of steps ago (its *lag*):

* ``pre``: presynaptic events at the adjusters, lag (1 - f) d (by presynaptic neuron);
* ``post``: postsynaptic events, lag f d (by postsynaptic cell: the CSC-like index);
* ``arrive``: arrivals, lag d, which add the current weight to the target's input.

A pass's rows are (neuron, lag) pairs: ``row_ptr`` over rows, ``syn`` the synapse ids
in row order, ``fan`` the longest row.
"""

from collections import namedtuple

import numpy as np

from . import stdp

PASSES = ("pre", "post", "arrive")
Pass = namedtuple("Pass", "neurons lags row_ptr syn fan")


def build_pass(neuron, lag):
    """Rows (neuron, lag) of the synapses with these neurons and lags (arrays(n))."""
    neurons, n_index = np.unique(neuron, return_inverse=True)
    lags, l_index = np.unique(lag, return_inverse=True)
    row = n_index * len(lags) + l_index
    counts = np.bincount(row, minlength=len(neurons) * len(lags))
    row_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Pass(neurons.astype(np.int64), tuple(int(x) for x in lags), row_ptr,
                np.argsort(row, kind="stable").astype(np.int64), int(counts.max(initial=0)))


def dendritic_lags(delay, fraction, dt):
    """Steps by which the adjusters see post spikes (f d) and pre spikes ((1 - f) d)."""
    post = np.asarray(fraction) * delay
    steps = np.round(post).astype(np.int64)
    if np.any(np.abs(post - steps) > 1e-6):
        bad = np.argmax(np.abs(post - steps))
        raise NotImplementedError(
            f"STDP with dendritic_delay_fraction {np.asarray(fraction).flat[bad]:g} and "
            f"delay {delay[bad] * dt:g} ms: pyNN.ann needs the dendritic part of the delay "
            f"to be a multiple of the time step {dt:g} ms")
    return delay - steps, steps


def build(pre, post, target, delay, fraction, dt):
    """The three passes and the history length, from per-synapse global presynaptic
    neuron, postsynaptic cell, flat input index (receptor x cell), delay (steps) and
    dendritic delay fraction."""
    pre_lag, post_lag = dendritic_lags(delay, fraction, dt)
    passes = {"pre": build_pass(pre, pre_lag), "post": build_pass(post, post_lag),
              "arrive": build_pass(pre, delay)}
    history = 1 + max(max(p.lags, default=0) for p in passes.values())
    return passes, history, np.asarray(target, np.int64)


def concat(projections, pick):
    """Per-synapse values of every STDP projection, concatenated."""
    parts = [pick(p["stdp"]) for p in projections if "stdp" in p]
    return np.concatenate(parts) if parts else np.zeros(0)


def rule_columns(projections):
    """The rule columns (:data:`stdp.COLUMNS`) of every STDP synapse."""
    cols = [stdp.columns(s["timing"], s["dependence"], s["params"], len(s["state"]["w"]))
            for p in projections if "stdp" in p for s in [p["stdp"]]]
    return {k: np.concatenate([c[k] for c in cols]) for k in stdp.COLUMNS}


def store(projections, state):
    """Copy the loop's STDP state (arrays over all STDP synapses) to the projections."""
    start = 0
    for p in projections:
        if "stdp" in p:
            n = len(p["weight"])
            p["stdp"]["state"] = {k: np.asarray(state[k][start:start + n]) for k in stdp.STATE}
            start += n
