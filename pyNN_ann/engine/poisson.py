"""Poisson sources: how many spikes a source emits in one step, and when.

A source of rate r emits C ~ Poisson(lambda = r dt) spikes in step k1 - 1 -> k1 (not
at most one: PyNN's brunel.py drives each cell at 20 kHz, two spikes per 0.1-ms step),
drawn by inverting the Poisson CDF over ``terms`` terms (``terms_for``: the count
beyond which the probability is negligible). Spike j lies ``u_j`` steps before t_k1,
u_j uniform in [0, 1) (off the grid; on the grid all lie at t_k1), and counts only if
it falls within [start, start + duration). Every number comes from ``counter_rng``
keyed by (seed, k1, source, stream), so the loop and the host (which turns recorded
counts back into spikes) draw the same ones; the functions take ``keras.ops``
tensors or NumPy arrays alike.
"""

import math

import numpy as np
from keras import ops

from . import counter_rng

COUNT_STREAM = 0  # the stream of the counts (the first stream of the Poisson sources)
#: the counter_rng streams ("POIS" + j) of the times of a step's spikes j = 0, 1, ...
TIME_STREAM = 0x504F4953
MAX_TERMS = 64  # most spikes per source and step (lambda up to about 35)
TAIL = 1e-9  # probability per source and step left out by ``terms_for``


def terms_for(lam):
    """The fewest counts K with P(C > K) < TAIL for the largest ``lam`` (at least 1,
    at most MAX_TERMS)."""
    lam = float(np.max(lam, initial=0.0))
    k, p, cdf = 0, math.exp(-lam), math.exp(-lam)
    while 1.0 - cdf >= TAIL and k < MAX_TERMS:
        k += 1
        p *= lam / k
        cdf += p
    return max(1, k)


def _inside(u, k1, start, start_after, stop, stop_after):
    """Whether a spike u steps before t_k1 lies within [start, stop): ``start``/``stop``
    are the first grid steps at or after them, ``*_after`` how far after (steps)."""
    d0, d1 = k1 - start, k1 - stop
    return (((d0 >= 1) | ((d0 == 0) & (u <= start_after)))
            & ((d1 <= -1) | ((d1 == 0) & (u > stop_after))))


def step(seed, k1, index, lam, start, start_after, stop, stop_after, terms, precise):
    """Spikes of the sources ``index`` (rates ``lam`` per step) in step k1 - 1 -> k1:
    (count, sum of their positions u_j before t_k1 in steps, (n x terms) positions,
    (n x terms) whether spike j is emitted)."""
    u = counter_rng.uniform(seed, k1, index, stream=COUNT_STREAM)
    p = ops.exp(-lam)
    cdf = p
    count = ops.zeros_like(lam)
    for k in range(terms):  # C = #{k < terms : u >= F(k)}
        count = count + ops.cast(u >= cdf, "float32")
        p = p * lam / (k + 1)
        cdf = cdf + p
    positions, emitted = [], []
    for j in range(terms):
        uj = counter_rng.uniform(seed, k1, index, stream=TIME_STREAM + j)
        if precise:
            ok = _inside(uj, k1, start, start_after, stop, stop_after)
        else:  # all at t_k1
            ok = (k1 >= start) & (k1 < stop)
            uj = 0.0 * uj
        positions.append(uj)
        emitted.append((count > j) & ok)
    positions, emitted = ops.stack(positions, axis=1), ops.stack(emitted, axis=1)
    on = ops.cast(emitted, "float32")
    return ops.sum(on, axis=1), ops.sum(on * positions, axis=1), positions, emitted


def recorded_positions(seed, steps, index, lam, start, start_after, stop, stop_after,
                       terms, precise):
    """Host: the spikes of recorded source events (``steps``: k1 of each, ``index``:
    the source, the other columns per event), as many per event as it emitted.
    Returns (event of each spike, its position before t_k1 in steps)."""
    if not len(steps):
        return np.zeros(0, np.int64), np.zeros(0)
    _, _, positions, emitted = step(
        seed, np.asarray(steps, np.int64), np.asarray(index, np.int64),
        np.asarray(lam, np.float32), np.asarray(start), np.asarray(start_after),
        np.asarray(stop), np.asarray(stop_after), terms, precise)
    positions, emitted = np.asarray(positions), np.asarray(emitted)
    event, j = np.nonzero(emitted)
    return event, positions[event, j].astype(np.float64)
