"""Escape noise, spike-triggered current and moving threshold of the GIF types.

GIF_cond_exp (Mensi et al. 2012; Pozzorini et al. 2015) as NEST's ``gif_cond_exp``,
whose order within a step k (t_k -> t_{k+1}) the loop follows:

1. eta = sum_j eta_j(t_k) and v_t = v_t_star + sum_j gamma_j(t_k) are taken, then
   every eta_j, gamma_j decays by exp(-dt / tau_j) (exact);
2. the membrane advances with the current -eta held over the step (the surrogate;
   v clamped at v_reset while refractory);
3. a non-refractory cell spikes at t_{k+1} with probability 1 - exp(-lambda dt),
   lambda = lambda0 exp((v(t_{k+1}) - v_t) / delta_v) (lambda0 in 1/ms here, Hz in
   PyNN), where a step only partly free of refractoriness counts its free part;
4. at a spike eta_j += a_eta_j, gamma_j += a_gamma_j, v = v_reset, refractory for
   tau_refrac.

The uniform numbers are ``counter_rng.uniform(seed, k + 1, cell, STREAM)``: the
same on every backend and device, whatever the split into ``run()`` calls.
Differences from NEST: NEST shows the pre-spike v in the sample at the spike time and
reset v one step later (the dynamics are the same); with tau_refrac = 0 NEST does
not reset v at all, pyNN.ann does; recorded i_eta and v_t are the values at the
sample time (NEST's lag one step: it records the values taken in 1.).
"""

from keras import ops

from . import counter_rng

STREAM = 0x47494631  # the escape-noise stream of counter_rng ("GIF1")
MAX_EXPONENT = 80.0  # (v - v_t) / delta_v is capped here: exp(80) ~ 5e34 fits float32


def at_step_start(state, c):
    """(eta, v_t): the spike-triggered current (nA) and the threshold (mV) at t_k."""
    return ops.sum(state["eta"], axis=1), c["v_t_star"] + ops.sum(state["gamma"], axis=1)


def fire(seed, k1, v, v_t, c, free_ms):
    """Escape-noise spikes at step ``k1`` (bool per cell) from v at t_{k1}, the threshold
    ``v_t`` of t_{k1 - 1} and the non-refractory time ``free_ms`` of the step."""
    z = ops.minimum((v - v_t) / c["delta_v"], MAX_EXPONENT)
    p = -ops.expm1(-c["lambda0"] * ops.exp(z) * free_ms)
    u = counter_rng.uniform(seed, k1, ops.arange(ops.shape(v)[0], dtype="int32"),
                            stream=STREAM)
    return u < p


def advance(state, c, fired):
    """eta_j, gamma_j at t_{k+1}: decayed over the step, plus the jumps of a spike."""
    f = ops.cast(fired, "float32")[:, None]
    return {"eta": state["eta"] * c["decay_eta"] + f * c["q_eta"],
            "gamma": state["gamma"] * c["decay_gamma"] + f * c["q_gamma"]}


def recorded(state, c):
    """Recordable values at the sample time: i_eta (nA) and v_t (mV)."""
    return {"i_eta": ops.sum(state["eta"], axis=1),
            "v_t": c["v_t_star"] + ops.sum(state["gamma"], axis=1)}
