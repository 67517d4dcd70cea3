"""Per-cell constants of the exact rules around each surrogate: synaptic kernels,
threshold, reset, refractory clamp and spike-triggered conductances.

Every cell, whatever its model, gets the same columns, so the loop applies the rules
to the whole cell vector at once (unused rules have neutral constants):

* kernels: an arrival of weight w adds ``w * kick_g`` to the kernel output g and
  ``w * kick_x`` to its auxiliary x; per step g <- (g + alpha_dt * x) * decay and
  x <- x * decay. Exponential: kick_g 1, kick_x 0. Alpha (peak w at t = tau):
  kick_g 0, kick_x e / tau, alpha_dt dt -- exact at the grid points. Delta: the
  weight (mV) jumps v directly (``delta`` 1) unless the cell is refractory.
* ``reset`` 1: on crossing ``threshold`` v is set to ``v_reset`` and held there
  for ``refrac_steps`` steps (integrate-and-fire). ``reset`` 0: a spike is an upward
  crossing of ``threshold`` and v is left to the surrogate (Hodgkin-Huxley).
* spike-triggered conductances g_s, g_r (nS): jump by q_sfa, q_rr at each spike,
  decay with tau_sfa, tau_rr.
"""

import numpy as np

from ..surrogates import if_family

COLUMNS = ("threshold", "v_reset", "refrac_steps", "reset", "delta", "conductance",
           "decay_E", "decay_I", "kick_g_E", "kick_g_I", "kick_x_E", "kick_x_I",
           "alpha_dt_E", "alpha_dt_I", "e_rev_E", "e_rev_I", "i_ext",
           "cm", "tau_m", "v_rest", "e_rev_sfa", "e_rev_rr", "q_sfa", "q_rr",
           "decay_s", "decay_r")
NEUTRAL = {"cm": 1.0, "tau_m": 1.0, "decay_E": 1.0, "decay_I": 1.0, "decay_s": 1.0,
           "decay_r": 1.0, "kick_g_E": 1.0, "kick_g_I": 1.0}


def _kernel(shape, tau, dt):
    tau = np.asarray(tau, dtype=float)
    decay = np.exp(-dt / tau) if shape != "delta" else np.ones_like(tau)
    if shape == "alpha":
        return decay, 0.0, np.e / tau, dt
    if shape == "delta":
        return decay, 0.0, 0.0, 0.0
    return decay, 1.0, 0.0, 0.0


def hh_columns(surrogate, parameters, dt):
    """Columns of cells run by a Hodgkin-Huxley-type surrogate (exponential
    conductances, no reset)."""
    inputs = surrogate.synaptic_inputs(parameters)
    size = len(inputs["e_rev_E"])
    cols = {k: np.full(size, NEUTRAL.get(k, 0.0)) for k in COLUMNS}
    cols.update(threshold=surrogate.spike_threshold, conductance=1.0,
                e_rev_E=inputs["e_rev_E"], e_rev_I=inputs["e_rev_I"], i_ext=inputs["i_ext"],
                decay_E=np.exp(-dt / inputs["tau_syn_E"]),
                decay_I=np.exp(-dt / inputs["tau_syn_I"]))
    return {k: np.broadcast_to(np.asarray(v, dtype=float), (size,)) for k, v in cols.items()}


def if_columns(parameters, synapses, dt):
    """Columns of integrate-and-fire cells (membrane parameters of ``if_family``);
    ``synapses`` is (``"current"``|``"conductance"``, ``"exp"``|``"alpha"``|``"delta"``)."""
    p = {k: np.asarray(v, dtype=float) for k, v in parameters.items()}
    size = len(np.atleast_1d(p["v_rest"]))
    kind, shape = synapses
    cols = {k: np.full(size, NEUTRAL.get(k, 0.0)) for k in COLUMNS}
    for key, tau in (("E", p.get("tau_syn_E", 1.0)), ("I", p.get("tau_syn_I", 1.0))):
        decay, kick_g, kick_x, alpha_dt = _kernel(shape, tau, dt)
        cols.update({f"decay_{key}": decay, f"kick_g_{key}": kick_g,
                     f"kick_x_{key}": kick_x, f"alpha_dt_{key}": alpha_dt})
    cols.update(threshold=p["v_thresh"], v_reset=p["v_reset"], reset=1.0,
                refrac_steps=np.round(p["tau_refrac"] / dt),
                delta=1.0 if shape == "delta" else 0.0,
                conductance=1.0 if kind == "conductance" else 0.0,
                e_rev_E=p["e_rev_E"], e_rev_I=p["e_rev_I"], i_ext=p["i_offset"],
                cm=p["cm"], tau_m=p["tau_m"], v_rest=p["v_rest"],
                e_rev_sfa=p["e_rev_sfa"], e_rev_rr=p["e_rev_rr"],
                q_sfa=p["q_sfa"], q_rr=p["q_rr"],
                decay_s=np.exp(-dt / p["tau_sfa"]), decay_r=np.exp(-dt / p["tau_rr"]))
    return {k: np.broadcast_to(np.asarray(v, dtype=float), (size,)) for k, v in cols.items()}


def if_rest_inputs(parameters, synapses):
    """(v_inf, rate) of integrate-and-fire cells with no synaptic input."""
    zero = np.zeros_like(np.asarray(parameters["v_rest"], dtype=float))
    conductance = 1.0 if synapses[0] == "conductance" else 0.0
    return if_family.membrane_inputs(zero, zero, zero, zero, parameters, conductance)
