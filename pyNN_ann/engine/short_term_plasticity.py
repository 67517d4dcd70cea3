"""Tsodyks-Markram short-term plasticity, computed exactly per synapse at each arrival.

The model is pyNN.neuron's (``tsodyksmarkram.mod``, Tsodyks, Uziel & Markram 2000):
resources are recovered (x), in use (y, decaying with the postsynaptic kernel's
time constant tau_syn) or inactive (z, recovering with tau_rec); u facilitates with
tau_facil (or equals U when tau_facil is 0). Between two arrivals at interval h:

    z <- z e^(-h/tau_rec) + y (e^(-h/tau_syn) - e^(-h/tau_rec)) / (tau_syn/tau_rec - 1)
    y <- y e^(-h/tau_syn);    x = 1 - y - z
    u <- u e^(-h/tau_facil) + U (1 - u e^(-h/tau_facil))     (tau_facil > 0)
    effective weight = w x u;   then y <- y + x u

The update is event-driven, so it is exact whatever the time step. State and
parameters are per synapse (CSR order inside the loop); ``t_last`` starts at 0.
"""

import numpy as np

STATE = ("u", "y", "z", "t_last")
PARAMETERS = ("U", "tau_rec", "tau_facil")
DEFAULTS = {"U": 0.5, "tau_rec": 100.0, "tau_facil": 0.0, "u": 0.0}


def initial_state(n, u0=0.0):
    """Host state of ``n`` synapses before their first arrival."""
    return {"u": np.broadcast_to(np.asarray(u0, float), (n,)).copy(), "y": np.zeros(n),
            "z": np.zeros(n), "t_last": np.zeros(n)}


def check(parameters):
    """Raise ValueError for parameters outside the model's range."""
    U = np.asarray(parameters["U"], float)
    if np.any((U < 0) | (U > 1)) or not np.all(np.isfinite(U)):
        raise ValueError(f"U must lie in [0, 1], got {U[(U < 0) | (U > 1)][:1]}")
    if np.any(np.asarray(parameters["tau_rec"], float) <= 0):
        raise ValueError("tau_rec must be > 0 ms")
    if np.any(np.asarray(parameters["tau_facil"], float) < 0):
        raise ValueError("tau_facil must be >= 0 ms")


def arrive(ops, weight, t, state, params, tau_syn):
    """Effective weights of arrivals at times ``t`` and the synapses' new state.

    ``ops`` is a tensor namespace with exp/where/divide (``tf.math`` or ``numpy``);
    all arguments are arrays over the arriving synapses.
    """
    h = t - state["t_last"]
    tau_rec, tau_facil = params["tau_rec"], params["tau_facil"]
    d_rec = ops.exp(-h / tau_rec)
    d_syn = ops.exp(-h / tau_syn)
    ratio = tau_syn / tau_rec - 1.0
    # tau_syn == tau_rec: the limit of the expression is y h / tau_rec e^(-h/tau_rec)
    same = ops.abs(ratio) < 1e-6
    safe_ratio = ops.where(same, 1.0, ratio)
    z = state["z"] * d_rec + ops.where(same, state["y"] * h / tau_rec * d_rec,
                                       state["y"] * (d_syn - d_rec) / safe_ratio)
    y = state["y"] * d_syn
    x = 1.0 - y - z
    facilitating = tau_facil > 0
    u_decayed = state["u"] * ops.exp(-h / ops.where(facilitating, tau_facil, 1.0))
    u = ops.where(facilitating, u_decayed + params["U"] * (1.0 - u_decayed), params["U"])
    effective = weight * x * u
    return effective, {"u": u, "y": y + x * u, "z": z, "t_last": t}
