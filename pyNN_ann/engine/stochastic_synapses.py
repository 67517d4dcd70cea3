"""Stochastic synapses: pyNN.neuron's stochastic weight adjusters, per synapse.

Each synapse decides at every presynaptic spike, when the spike is sent (its state
is in CSR order inside the loop, like ``short_term_plasticity``), which weight its
arrival will add; ``t`` is the arrival time (pyNN.neuron's adjuster receives the
spike 1e-9 ms before the synapse does). The rules are those of pyNN.neuron's NMODL
mechanisms, with a weight ``w``:

* ``simple_stochastic`` (SimpleStochasticSynapse, ``stochastic_synapse.mod``):
  transmits ``w`` with probability ``p``, else 0.
* ``stochastic_tsodyks_markram`` (StochasticTsodyksMarkramSynapse,
  ``stochastic_tsodyksmarkram.mod``, Fuhrmann et al. 2002): one release site, either
  recovered (R = 1) or not. At a spike at time t::

      u <- u e^(-(t - t_last)/tau_facil) + U (1 - u e^(-(t - t_last)/tau_facil))
                                            (tau_facil > 0; else u <- U); t_last <- t
      if R = 0: recovers (R <- 1) with probability 1 - e^(-(t - t_surv)/tau_rec),
                else t_surv <- t
      if R = 1: releases with probability u: transmits w, R <- 0, t_surv <- t
      otherwise transmits 0

  Initial state u = 0, R = 1, t_last = 0.
* ``multi_quantal`` (MultiQuantalSynapse, ``quantal_stp.mod``, NEST's
  quantal_stp_connection): ``n`` release sites, ``available`` of them ready. At a
  spike at time t, with h = t - t_last::

      u <- U + u (1 - U) e^(-h/tau_facil)           (the last term 0 if tau_facil = 0)
      each of the n - available depleted sites recovers with probability 1 - e^(-h/tau_rec)
      each available site releases with probability u:  k released ~ Binomial(available, u)
      transmits w k / n;   available <- available - k;   t_last <- t

  Initial state available = n, t_last = -infinity (u = 0.5, the mod file's u0, which
  the first spike forgets). ``Projection.initialize(a=..., u=...)`` sets available
  and u and starts the clock at that time (:func:`set_initial`), as NEST's
  quantal_stp does. NEST transmits w per released site (w k, not w k / n): PyNN's
  ``multiquantal_synapses.py`` example gives the same time course on both, n times
  larger on NEST for n sites.

Differences from pyNN.neuron: (1) NEURON's stochastic Tsodyks-Markram adjuster only
acts on weights w > 0 (a synapse with w <= 0 always transmits w); here any w != 0 is
stochastic, so inhibitory current-based synapses (negative weights) are stochastic
too. (2) NEURON writes the transmitted value into the connection's weight, so
``Projection.get("weight")`` there returns 0 or w of the last spike, and a weight set
after construction is overwritten by the adjuster's copy; here the weight is the
nominal one, which ``set`` changes. (3) The random numbers differ (NEURON: one global
stream; here counter-based, below), so single runs differ and only statistics agree.

Random numbers are stateless: the uniform number of draw ``stream`` of the synapse
with identifier ``id`` (its position among all CSR synapses in the order the
projections were made) for the spike sent at step ``k`` is a hash of (seed, k, id,
stream): a chain of the "lowbias32" integer hash (C. Wellons), one input word
(times 2^32/phi) xor-ed in per link, in unsigned 32-bit arithmetic. So identical
seeds give identical results, and results do not depend on how a simulation is split
into ``run()`` calls. Streams: 0 (simple; Tsodyks-Markram
recovery), 1 (Tsodyks-Markram release), 2 j (quantal: recovery of site j),
2 j + 1 (quantal: release at site j).

The hash is that of ``counter_rng`` (same mixing function) with one more input word,
the draw, which may be an array (one per release site), and is written against
``ops``. Every function takes ``ops``, a tensor namespace: exp, where, to_float, sum
(over an axis), uint32 (cast, modulo 2^32), bitwise_xor and right_shift
(``NUMPY_OPS`` here; the loop passes its ``keras.ops`` namespace, so the numbers are
the same with NumPy, TensorFlow and JAX).
"""

from types import SimpleNamespace

import numpy as np

KINDS = ("simple_stochastic", "stochastic_tsodyks_markram", "multi_quantal")
CODES = {kind: i + 1 for i, kind in enumerate(KINDS)}  # 0: not stochastic
PARAMETERS = {"simple_stochastic": ("p",),
              "stochastic_tsodyks_markram": ("U", "tau_rec", "tau_facil"),
              "multi_quantal": ("U", "n", "tau_rec", "tau_facil")}
DEFAULTS = {"simple_stochastic": {"p": 0.5},
            "stochastic_tsodyks_markram": {"U": 0.5, "tau_rec": 100.0, "tau_facil": 0.0},
            "multi_quantal": {"U": 0.5, "n": 1.0, "tau_rec": 800.0, "tau_facil": 0.0}}
#: per-synapse float columns in the loop, and their values for other synapses
COLUMNS = {"kind": 0.0, "p": 1.0, "U": 0.5, "n": 1.0, "tau_rec": 100.0, "tau_facil": 0.0}
STATE = ("u", "t_last", "available", "t_surv")
NEVER = -1e30  # t_last before the first spike: every decay factor is 0
MAX_SITES = 1024  # release sites of a MultiQuantalSynapse

NUMPY_OPS = SimpleNamespace(
    exp=np.exp, where=np.where, sum=np.sum,
    to_float=lambda x: np.asarray(x, np.float32),
    uint32=lambda x: np.atleast_1d(np.asarray(x).astype(np.int64).astype(np.uint32)),
    bitwise_xor=np.bitwise_xor, right_shift=np.right_shift)

_M1, _M2, _GOLDEN = 0x7FEB352D, 0x846CA68B, 0x9E3779B1  # lowbias32; 2^32 / phi
_MASK = 0xFFFFFFFF
# typed constants: Python ints above 2^31 do not convert on every backend
_U = {name: np.uint32(value) for name, value in
      (("m1", _M1), ("m2", _M2), ("golden", _GOLDEN), (16, 16), (15, 15), (8, 8))}


def _mix_int(h):
    """The integer hash on a Python int (host side)."""
    h ^= h >> 16
    h = (h * _M1) & _MASK
    h ^= h >> 15
    h = (h * _M2) & _MASK
    return h ^ (h >> 16)


def seed_key(seed):
    """The 32-bit key of a simulation seed (any Python int)."""
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    return _mix_int(_mix_int(seed >> 32 ^ _GOLDEN) ^ (seed & _MASK))


def _mix(ops, h):
    h = ops.bitwise_xor(h, ops.right_shift(h, _U[16])) * _U["m1"]
    h = ops.bitwise_xor(h, ops.right_shift(h, _U[15])) * _U["m2"]
    return ops.bitwise_xor(h, ops.right_shift(h, _U[16]))


def uniform(ops, key, step, ids, stream):
    """Uniform numbers in [0, 1) (multiples of 2^-24) for (key, step, ids, stream);
    ``ids`` and ``stream`` broadcast against each other."""
    golden = _U["golden"]
    h = _mix(ops, ops.bitwise_xor(ops.uint32(step) * golden, np.uint32(key)))
    h = _mix(ops, ops.bitwise_xor(h, ops.uint32(ids) * golden))
    h = _mix(ops, ops.bitwise_xor(h, ops.uint32(stream) * golden))
    return ops.to_float(ops.right_shift(h, _U[8])) * np.float32(1.0 / 16777216.0)


# --- parameters and state (host) ------------------------------------------------------

def check(kind, params):
    """Raise ValueError, naming the offending value, for parameters out of range."""
    if kind not in KINDS:
        raise ValueError(f"unknown stochastic synapse {kind!r} (one of {KINDS})")

    def bad(name, wrong, rule):
        values = np.asarray(params[name], float)
        wrong = wrong(values) | ~np.isfinite(values)
        if np.any(wrong):
            raise ValueError(f"{name} must {rule}, got {name} = "
                             f"{np.atleast_1d(values)[np.atleast_1d(wrong)][0]:g}")

    for name in PARAMETERS[kind]:
        if name in ("p", "U"):
            bad(name, lambda v: (v < 0) | (v > 1), "lie in [0, 1]")
        elif name == "tau_rec":
            bad(name, lambda v: v <= 0, "be > 0 ms")
        elif name == "tau_facil":
            bad(name, lambda v: v < 0, "be >= 0 ms")
        elif name == "n":
            bad(name, lambda v: (v < 1) | (v > MAX_SITES) | (v != np.round(v)),
                f"be a whole number of release sites in [1, {MAX_SITES}]")


def initial_state(kind, params, size):
    """Host state of ``size`` synapses before their first spike."""
    zero = np.zeros(size)
    if kind == "multi_quantal":
        return {"u": np.full(size, 0.5), "t_last": np.full(size, NEVER),
                "available": np.broadcast_to(np.asarray(params["n"], float), (size,)).copy(),
                "t_surv": zero.copy()}
    return {"u": zero.copy(), "t_last": zero.copy(), "available": np.ones(size),
            "t_surv": zero.copy()}


#: state variables ``Projection.initialize`` may set (NEST quantal_stp's names): ``a``
#: available sites (integer, 0..n) and ``u`` the utilisation
INITIAL_VALUES = {"multi_quantal": ("a", "u")}


def set_initial(synapses, name, values, t):
    """Set state ``name`` (:data:`INITIAL_VALUES`) of ``synapses`` (the engine's
    ``{"kind", "params", "state"}``) as it is at time ``t``: the synapses' clock starts
    there (t_last = t, as NEST's connections start at t = 0), so the first spike sees u
    decay and depleted sites recover from ``t`` on, instead of forgetting the state as
    a synapse that never fired does."""
    state, params = synapses["state"], synapses["params"]
    values = np.broadcast_to(np.asarray(values, dtype=float), state["u"].shape)
    if name == "a":
        bad = (values < 0) | (values > params["n"]) | (values != np.round(values))
        if bad.any():
            raise ValueError(f"a = {float(values[bad][0])}: the available release sites "
                             "must be a whole number from 0 to n")
        state["available"] = values.copy()
    elif name == "u":
        bad = (values < 0) | (values > 1) | ~np.isfinite(values)
        if bad.any():
            raise ValueError(f"u = {float(values[bad][0])} must lie in [0, 1]")
        state["u"] = values.copy()
    else:
        raise KeyError(name)
    state["t_last"] = np.full(values.shape, float(t))


# --- the rules (any tensor namespace) ---------------------------------------------------

def _tsodyks_markram(ops, weight, t, state, params, draw):
    h = t - state["t_last"]
    facilitating = params["tau_facil"] > 0
    u_decayed = state["u"] * ops.exp(-h / ops.where(facilitating, params["tau_facil"], 1.0))
    u = ops.where(facilitating, u_decayed + params["U"] * (1.0 - u_decayed), params["U"])
    ready = state["available"] > 0  # R
    survives = ops.exp(-(t - state["t_surv"]) / params["tau_rec"])
    recovers = ~ready & (draw(1, 0) > survives)
    t_surv = ops.where(ready | recovers, state["t_surv"], t)
    ready = ready | recovers
    release = ready & (draw(1, 1) < u)
    return ops.where(release, weight, 0.0), {
        "u": u, "t_last": t, "available": ops.to_float(ready & ~release),
        "t_surv": ops.where(release, t, t_surv)}


def _multi_quantal(ops, weight, t, state, params, draw, n_max):
    h = t - state["t_last"]
    fast = params["tau_facil"] < 1e-10
    u_decay = ops.where(fast, 0.0, ops.exp(-h / ops.where(fast, 1.0, params["tau_facil"])))
    u = params["U"] + state["u"] * (1.0 - params["U"]) * u_decay
    p_recover = 1.0 - ops.exp(-h / params["tau_rec"])
    sites = np.arange(n_max, dtype=np.float32)
    streams = 2 * np.arange(n_max, dtype=np.uint32)
    n, available = params["n"], state["available"]
    recovered = ops.sum(ops.to_float(
        (sites < (n - available)[..., None])
        & (draw(n_max, streams) < p_recover[..., None])), axis=-1)
    available = available + recovered
    released = ops.sum(ops.to_float(
        (sites < available[..., None]) & (draw(n_max, streams + 1) < u[..., None])), axis=-1)
    return ops.where(released > 0, released / n * weight, 0.0), {
        "u": u, "t_last": t, "available": available - released, "t_surv": state["t_surv"]}


def transmit(ops, kinds, weight, t, step, state, params, key, n_max=1):
    """Transmitted weights of the spikes sent at step ``step`` (arriving at times
    ``t``) and the synapses' new state.

    ``kinds``: the kinds present (a static tuple); ``params``: the ``COLUMNS`` and
    ``id`` (int), arrays over the synapses like ``weight``; ``key``: ``seed_key(seed)``;
    ``n_max``: the largest ``n`` of the multi_quantal synapses. Synapses of another
    kind (code 0) keep their weight and state.
    """
    def draw(width, stream):
        ids = params["id"] if width == 1 else params["id"][..., None]
        return uniform(ops, key, step, ids, stream)

    code = params["kind"]
    out, new = weight, dict(state)

    def merge(kind, effective, changed):
        nonlocal out, new
        on = code == CODES[kind]
        if kind == "stochastic_tsodyks_markram":  # NEURON: only for w > 0 (see above)
            on = on & (weight != 0)
        out = ops.where(on, effective, out)
        new = {k: ops.where(on, changed[k], new[k]) for k in STATE}

    if "simple_stochastic" in kinds:
        merge("simple_stochastic",
              ops.where(draw(1, 0) < params["p"], weight, 0.0), state)
    if "stochastic_tsodyks_markram" in kinds:
        merge("stochastic_tsodyks_markram",
              *_tsodyks_markram(ops, weight, t, state, params, draw))
    if "multi_quantal" in kinds:
        merge("multi_quantal",
              *_multi_quantal(ops, weight, t, state, params, draw, max(1, int(n_max))))
    return out, new
