"""Spike-timing-dependent plasticity: pyNN.neuron's weight adjusters, per synapse.

The rule is that of pyNN.neuron's ``stdwa_songabbott.mod`` (additive),
``stdwa_softlimits.mod`` (multiplicative), ``stdwa_guetig.mod`` (Gutig, and
additive-potentiation-multiplicative-depression as Gutig with mu+ = 0, mu- = 1) and
``stdwa_vogels2011.mod``, as pyNN.neuron configures them (``allow_update_on_post = 0``).
Each synapse has its own adjuster, which sees

* a presynaptic event at ``t_pre + (1 - f) d`` (f: dendritic_delay_fraction, d: delay),
* a postsynaptic event at ``t_post + f d``.

State: traces P, M, the times of the last pre/post events, a pending change dw, w.

pre event at t:   P  <- keep P e^(-(t - t_pre)/tau+) + a+;         t_pre  <- t
                  dw <- dw + F-(w) M e^(-(t - t_post)/tau-) + c_pre
                  w  <- bounds(w + dw);  dw <- 0
post event at t:  M  <- keep M e^(-(t - t_post)/tau-) - a-;        t_post <- t
                  dw <- dw + F+(w) P e^(-(t - t_pre)/tau+)       (w unchanged)

so the weight changes only at presynaptic events, and post-before-pre pairs are
applied at the next presynaptic event. Per timing rule and weight dependence:

* SpikePairRule (all pairs): keep = 1, a+ = A_plus, a- = A_minus, c_pre = 0, with
  additive        F+ = F- = w_max
  multiplicative  F+ = w_max - w, F- = w - w_min   (and a weight <= 0 stays 0:
                                                    NEURON's pruning, wprune = 0)
  add.-pot.-mult.-dep.  F+ = 1, F- = w - w_min
  Gutig           F+ = (w_max - w)^mu_plus, F- = (w - w_min)^mu_minus
* Vogels2011Rule (nearest spike, additive only): keep = 0, a+ = 1, a- = -1,
  tau+ = tau- = tau, F+ = F- = eta, c_pre = -2 rho tau eta.

``bounds`` ends with a clip to [w_min, w_max] for every rule. NEURON clips only the
additive rules; its soft-bound rules agree with this one as long as their weights
stay within bounds, which they leave only for large amplitudes (multiplicative and
add.-pot.-mult.-dep. weights then overshoot, Gutig ones become NaN). Initial state:
P = M = dw = 0, t_pre = t_post = 0 (NEURON: -1e12 for Vogels; no difference, as the
traces start at 0). At equal times, presynaptic events come before postsynaptic ones
and before the arrivals that use the weight (NEURON advances the presynaptic event by
1e-9 ms for f < 1 "so that the synaptic weight gets updated before it is used").
Times are kept as integer steps, so intervals are exact.
"""

import numpy as np

TIMING = {"spike_pair": ("tau_plus", "tau_minus", "A_plus", "A_minus"),
          "vogels2011": ("tau", "eta", "rho")}
DEPENDENCE = {"additive": ("w_min", "w_max"),
              "multiplicative": ("w_min", "w_max"),
              "additive_potentiation_multiplicative_depression": ("w_min", "w_max"),
              "gutig": ("w_min", "w_max", "mu_plus", "mu_minus")}
DEFAULTS = {"tau_plus": 20.0, "tau_minus": 20.0, "A_plus": 0.01, "A_minus": 0.01,
            "tau": 20.0, "eta": 1e-10, "rho": 3.0, "w_min": 0.0, "w_max": 1.0,
            "mu_plus": 0.5, "mu_minus": 0.5, "dendritic_delay_fraction": 1.0}
STATE = ("w", "P", "M", "dw", "t_pre", "t_post")  # t_pre, t_post: integer steps
COLUMNS = ("tau_plus", "tau_minus", "a_plus", "a_minus", "keep", "base_plus", "mu_plus",
           "base_minus", "mu_minus", "pre_const", "w_min", "w_max", "prune")


def parameter_names(timing, dependence):
    """Parameters of a timing rule x weight dependence (and the delay split)."""
    check_kinds(timing, dependence)
    return TIMING[timing] + DEPENDENCE[dependence] + ("dendritic_delay_fraction",)


def check_kinds(timing, dependence):
    if timing not in TIMING:
        raise ValueError(f"unknown STDP timing rule {timing!r} (one of {tuple(TIMING)})")
    if dependence not in DEPENDENCE:
        raise ValueError(f"unknown STDP weight dependence {dependence!r} "
                         f"(one of {tuple(DEPENDENCE)})")
    if timing == "vogels2011" and dependence != "additive":
        raise NotImplementedError(
            f"Vogels2011Rule with the {dependence} weight dependence: pyNN.neuron (and "
            "NEST) define this rule with the additive weight dependence only")


def check(timing, dependence, params):
    """Raise ValueError for parameters outside the rule's range."""
    check_kinds(timing, dependence)
    p = {k: np.asarray(params[k], float) for k in parameter_names(timing, dependence)}
    for name, values in p.items():
        if not np.all(np.isfinite(values)):
            raise ValueError(f"STDP parameter {name} must be finite")
    for name in ("tau_plus", "tau_minus", "tau"):
        if name in p and np.any(p[name] <= 0):
            raise ValueError(f"STDP {name} must be > 0 ms, got {p[name].min()}")
    for name in ("A_plus", "A_minus", "eta", "rho", "mu_plus", "mu_minus"):
        if name in p and np.any(p[name] < 0):
            raise ValueError(f"STDP {name} must be >= 0, got {p[name].min()}")
    if np.any(p["w_min"] > p["w_max"]):
        raise ValueError("STDP w_min must not exceed w_max")
    f = p["dendritic_delay_fraction"]
    if np.any((f < 0) | (f > 1)):
        raise ValueError("dendritic_delay_fraction must lie in [0, 1]")


def columns(timing, dependence, params, n):
    """Per-synapse columns of :data:`COLUMNS` (arrays(n)) for one projection."""
    p = {k: np.broadcast_to(np.asarray(params[k], float), (n,))
         for k in parameter_names(timing, dependence)}
    one, zero = np.ones(n), np.zeros(n)
    c = {"w_min": p["w_min"], "w_max": p["w_max"], "prune": zero}
    if timing == "vogels2011":
        c.update(tau_plus=p["tau"], tau_minus=p["tau"], a_plus=one, a_minus=-one, keep=zero,
                 base_plus=p["eta"], base_minus=p["eta"], mu_plus=zero, mu_minus=zero,
                 pre_const=-2.0 * p["rho"] * p["tau"] * p["eta"])
        return {k: np.array(v, float) for k, v in c.items()}
    c.update(tau_plus=p["tau_plus"], tau_minus=p["tau_minus"], a_plus=p["A_plus"],
             a_minus=p["A_minus"], keep=one, pre_const=zero, base_plus=one, base_minus=one)
    if dependence == "additive":
        c.update(base_plus=p["w_max"], base_minus=p["w_max"], mu_plus=zero, mu_minus=zero)
    elif dependence == "multiplicative":
        c.update(mu_plus=one, mu_minus=one, prune=one)
    elif dependence == "gutig":
        c.update(mu_plus=p["mu_plus"], mu_minus=p["mu_minus"])
    else:  # additive potentiation, multiplicative depression
        c.update(mu_plus=zero, mu_minus=one)
    return {k: np.array(v, float) for k, v in c.items()}


def initial_state(weight):
    """Host state of synapses with initial weights ``weight`` before any event."""
    n = len(weight)
    zero = np.zeros(n)
    return {"w": np.array(weight, float), "P": zero, "M": zero.copy(), "dw": zero.copy(),
            "t_pre": np.zeros(n, np.int64), "t_post": np.zeros(n, np.int64)}


def on_pre(ops, state, k, dt, c):
    """State after presynaptic events at step ``k`` (time k dt) at the adjusters.

    ``ops`` is a namespace with exp/where/pow/clip/to_float/zeros_like (TensorFlow
    or NumPy: :data:`NUMPY_OPS`);
    state, columns ``c`` and ``k`` are arrays over the synapses concerned.
    """
    decay_pre = ops.exp(-ops.to_float(k - state["t_pre"]) * dt / c["tau_plus"])
    decay_post = ops.exp(-ops.to_float(k - state["t_post"]) * dt / c["tau_minus"])
    w = state["w"]
    depression = c["base_minus"] * ops.pow(w - c["w_min"], c["mu_minus"])
    dw = state["dw"] + depression * state["M"] * decay_post + c["pre_const"]
    new_w = ops.where((c["prune"] > 0) & (w <= 0), ops.zeros_like(w), w + dw)
    return {"w": ops.clip(new_w, c["w_min"], c["w_max"]),
            "P": c["keep"] * state["P"] * decay_pre + c["a_plus"], "M": state["M"],
            "dw": ops.zeros_like(dw), "t_pre": k + 0 * state["t_pre"],
            "t_post": state["t_post"]}


def on_post(ops, state, k, dt, c):
    """State after postsynaptic events at step ``k`` at the adjusters (see on_pre)."""
    decay_pre = ops.exp(-ops.to_float(k - state["t_pre"]) * dt / c["tau_plus"])
    decay_post = ops.exp(-ops.to_float(k - state["t_post"]) * dt / c["tau_minus"])
    potentiation = c["base_plus"] * ops.pow(c["w_max"] - state["w"], c["mu_plus"])
    return {"w": state["w"], "P": state["P"],
            "M": c["keep"] * state["M"] * decay_post - c["a_minus"],
            "dw": state["dw"] + potentiation * state["P"] * decay_pre,
            "t_pre": state["t_pre"], "t_post": k + 0 * state["t_post"]}


NUMPY_OPS = type("NumpyOps", (), {
    "exp": staticmethod(np.exp), "where": staticmethod(np.where),
    "pow": staticmethod(np.power), "clip": staticmethod(np.clip),
    "zeros_like": staticmethod(np.zeros_like),
    "to_float": staticmethod(lambda x: np.asarray(x, float))})
