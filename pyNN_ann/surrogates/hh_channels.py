"""The Traub & Miles sodium and potassium channels of PyNN's HH_cond_exp, as the
reference (pyNN.neuron's ``hh_traub`` mechanism) evaluates them.

Gate x in {m, h, n} follows dx/dt = (x_inf(v) - x) / tau_x(v), with the rate
functions below of u = v - v_offset. NEURON evaluates them from a table over
-100..100 mV in 1-mV steps with linear interpolation (``TABLE ... WITH 200``), and
starts every gate at 0 (``INITIAL``: m = h = n = 0, for compatibility with NEST);
both are reproduced here, because both move spike times measurably.

The channel surrogate (``cell.ChannelSurrogateCell``) carries the gates and
advances them with the exponential (Rush-Larsen) rule of :func:`gate_step`; the
same rule applied along the reference's v gives the teacher gates of the training
data (:func:`gates_along`). Works on NumPy arrays and backend tensors (``xp``).
"""

import numpy as np

GATES = ("m", "h", "n")
#: the channel parameters a cell may set, with PyNN's HH_cond_exp defaults (uS, nF, mV)
DEFAULTS = {"gbar_Na": 20.0, "gbar_K": 6.0, "g_leak": 0.01, "cm": 0.2,
            "e_rev_Na": 50.0, "e_rev_K": -90.0}
PARAMETERS = tuple(DEFAULTS)
TABLE_V = np.arange(-100.0, 100.5, 1.0)  # mV: NEURON's table points


def _vtrap(x, y):
    """x / (exp(x / y) - 1), continuous at x = 0 (NEURON's ``vtrap``)."""
    small = np.abs(x / y) < 1e-6
    safe = np.where(small, 1.0, x)
    return np.where(small, y * (1.0 - x / y / 2.0), safe / np.expm1(safe / y))


def rates(v, v_offset=-63.0):
    """{gate: (x_inf, tau_x in ms)} at membrane potential(s) ``v`` (NumPy)."""
    u = np.asarray(v, dtype=float) - v_offset
    ab = {"m": (0.32 * _vtrap(13.0 - u, 4.0), 0.28 * _vtrap(u - 40.0, 5.0)),
          "h": (0.128 * np.exp((17.0 - u) / 18.0), 4.0 / (np.exp((40.0 - u) / 5.0) + 1.0)),
          "n": (0.032 * _vtrap(15.0 - u, 5.0), 0.5 * np.exp((10.0 - u) / 40.0))}
    return {g: (a / (a + b), 1.0 / (a + b)) for g, (a, b) in ab.items()}


def tables(v_offset=-63.0):
    """(3, 201) arrays over ``TABLE_V``: x_inf and tau_x (ms) of each gate."""
    r = rates(TABLE_V, v_offset)
    return tuple(np.stack([r[g][i] for g in GATES]).astype(np.float32) for i in (0, 1))


def lookup(table, v, xp):
    """Linear interpolation of the (3, 201) ``table`` at ``v`` (batch,) -> (batch, 3);
    v beyond the table holds its end values (NEURON's behaviour)."""
    x = xp.clip(v - TABLE_V[0], 0.0, TABLE_V[-1] - TABLE_V[0] - 1e-4)
    i = xp.floor(x)
    frac = (x - i)[:, None]
    i = i.astype(np.int32) if xp is np else xp.cast(i, "int32")
    lo = xp.transpose(xp.take(table, i, axis=1))
    hi = xp.transpose(xp.take(table, i + 1, axis=1))
    return lo + frac * (hi - lo)


def gate_step(gates, v, inf_table, tau_table, dt, xp=np):
    """Gates (batch, 3) ``dt`` ms on: exact relaxation towards x_inf(v) with v held
    fixed (``v`` (batch,): the step's mean membrane potential)."""
    inf = lookup(inf_table, v, xp)
    return inf + (gates - inf) * xp.exp(-dt / lookup(tau_table, v, xp))


def conductances(gates, gbar_Na, gbar_K):
    """(g_Na, g_K) in uS from gates (batch, 3)."""
    m, h, n = gates[:, 0], gates[:, 1], gates[:, 2]
    return gbar_Na * m * m * m * h, gbar_K * (n * n) * (n * n)


def gates_along(v, dt, v_offset=-63.0):
    """Teacher gates (cells, samples, 3) along reference traces ``v`` (cells,
    samples) sampled every ``dt``: from 0 at t = 0, each step by :func:`gate_step`
    at the mean of its two end samples (the rule the surrogate follows)."""
    inf, tau = tables(v_offset)
    v = np.asarray(v, dtype=np.float32)
    out = np.zeros(v.shape + (3,), np.float32)
    for k in range(v.shape[1] - 1):
        out[:, k + 1] = gate_step(out[:, k], 0.5 * (v[:, k] + v[:, k + 1]), inf, tau, dt)
    return out
