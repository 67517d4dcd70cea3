"""Per-cell constants of the exact rules around each surrogate: synaptic kernels,
threshold, reset, refractory clamp and spike-triggered conductances.

Every cell, whatever its model, gets the same columns, so the loop applies the rules
to the whole cell vector at once (unused rules have neutral constants):

* kernels, one per synaptic channel (channel 0 and 1, suffixes ``_E`` and ``_I``,
  are the excitatory and inhibitory receptors of the standard types; a composed
  ``PointNeuron`` has one channel per named receptor, suffixes ``_2``, ``_3``, ...
  beyond the first two, see :func:`suffix`): an arrival of weight w adds
  ``w * kick_g`` to the kernel output g and ``w * kick_x`` to its auxiliary x; per
  step g <- (g + cross * x) * decay and x <- x * decay_x. Exponential: kick_g 1,
  kick_x 0. Alpha (peak w at t = tau): kick_g 0, kick_x e / tau, cross dt,
  decay_x = decay. Beta (difference of exponentials, peak w; x is the rising
  component): kick_g 0, kick_x the peak normalisation, decay exp(-dt / tau_decay),
  decay_x exp(-dt / tau_rise), cross 1 - decay_x / decay. All exact at the grid
  points. Delta: the weight (mV) jumps v directly (``delta`` 1) unless the cell is
  refractory.
  The membrane surrogate receives each conductance's exact average over the step
  (``mean_*``), not its value at the step's start: with synaptic time constants
  near dt the two differ a lot.
* ``reset`` 1: on crossing ``threshold`` v is set to ``v_reset`` and held there
  for ``tau_refrac`` ms (integrate-and-fire). The clamp is timed from the crossing
  time within the step (linear interpolation) and released within a step, so that
  refractory periods do not round to the grid; spikes are reported at that
  crossing time (with ``spike_precision="on_grid"``: at the grid point that ends the
  step; see ``loop``). With off-grid spikes an IF membrane also spikes where v
  crossed threshold and turned back within one step, both ends below
  (:func:`grazing_crossing`). ``reset`` 0: a spike is an upward
  crossing of ``threshold`` and v is left to the surrogate (Hodgkin-Huxley).
* spike-triggered conductances g_s, g_r (nS): jump by q_sfa, q_rr at each spike's
  crossing time (added at the step's end, decayed since the crossing), decay with
  tau_sfa, tau_rr.
* Izhikevich cells (``surrogates/izhikevich.py``) have their own spike and reset
  rule (``izhikevich.spike_and_reset``: v_reset is c, izh_a, izh_b, izh_d are a, b,
  d, u is kept in the state slot of w); the rules above are made neutral for them
  (no threshold, no reset, no kernels: their synapses are voltage jumps).
* the adaptation current w (nA) of the EIF types: tau_w dw/dt = a (v - v_rest) - w
  over each step (v at the step's midpoint; in a spike step v up to the crossing, then
  v_reset: ``if_family.adaptation_voltage``), w += b at each spike (decayed since the
  crossing, as g_s and g_r). For the
  exponential types a spike is v >= v_spike (v_thresh when delta_T is 0).
* escape noise (GIF types): ``lambda0`` (1/ms; 0 for all other cells), ``delta_v``,
  ``v_t_star``, and the (cells x K) :data:`COMPONENT_COLUMNS` of the spike-triggered
  current eta_j and threshold gamma_j: per step x <- x * decay, x += q at a spike
  (neutral 1, 0 where a cell has fewer than K components). See ``escape_noise``.
"""

import numpy as np

from ..surrogates import hh_channels, if_family

#: per-channel kernel columns (named ``<column>_<suffix>``)
CHANNEL_COLUMNS = ("decay", "decay_x", "kick_g", "kick_x", "cross", "mean_g", "mean_x",
                   "e_rev")
COLUMNS = ("threshold", "v_reset", "tau_refrac", "reset", "delta", "conductance",
           *(f"{c}_{s}" for c in CHANNEL_COLUMNS for s in ("E", "I")), "i_ext",
           "cm", "tau_m", "v_rest", "e_rev_sfa", "e_rev_rr", "q_sfa", "q_rr",
           "decay_s", "decay_r", "mean_s", "mean_r",
           "delta_T", "v_thresh", "a", "b", "decay_w",
           "lambda0", "delta_v", "v_t_star", "izh_a", "izh_b", "izh_d",
           *(k for k in hh_channels.PARAMETERS if k != "cm"))
_CHANNEL_NEUTRAL = {"decay": 1.0, "decay_x": 1.0, "kick_g": 1.0, "mean_g": 1.0}
NEUTRAL = {"cm": 1.0, "tau_m": 1.0, "decay_s": 1.0, "decay_r": 1.0, "mean_s": 1.0,
           "mean_r": 1.0, "decay_w": 1.0, "delta_v": 1.0,
           **{f"{c}_{s}": v for c, v in _CHANNEL_NEUTRAL.items() for s in ("E", "I")}}


def suffix(channel):
    """Column suffix of synaptic channel ``channel``: E, I, then 2, 3, ..."""
    return if_family.channel_suffix(channel)


def columns(channels):
    """All column names of a network whose cells have up to ``channels`` channels."""
    extra = tuple(f"{c}_{suffix(r)}" for r in range(2, channels) for c in CHANNEL_COLUMNS)
    return COLUMNS + extra


def neutral(name):
    """The neutral value of column ``name`` (0 unless listed)."""
    if name in NEUTRAL:
        return NEUTRAL[name]
    base = name.rsplit("_", 1)[0]
    return _CHANNEL_NEUTRAL.get(base, 0.0) if name.rsplit("_", 1)[-1].isdigit() else 0.0


def state_keys(channel):
    """(g, x) state keys of synaptic channel ``channel``."""
    if channel < 2:
        return ("g_exc", "g_inh")[channel], ("x_exc", "x_inh")[channel]
    return f"g_{channel}", f"x_{channel}"
COMPONENT_COLUMNS = ("decay_eta", "q_eta", "decay_gamma", "q_gamma")


def step_mean(tau, dt):
    """Mean of exp(-u / tau) over a step u in [0, dt]: g_k times this is the exact
    average of an exponentially decaying g over the step."""
    tau = np.asarray(tau, dtype=float)
    return tau / dt * -np.expm1(-dt / tau)


def _alpha(tau, dt):
    decay = np.exp(-dt / tau)  # mean of (g + u x) exp(-u / tau) over u in [0, dt]:
    mean_x = (tau * tau * -np.expm1(-dt / tau) - tau * dt * decay) / dt
    return decay, decay, 0.0, np.e / tau, dt, step_mean(tau, dt), mean_x


def beta_peak_factor(tau_rise, tau_decay):
    """1 / max of exp(-t / tau_decay) - exp(-t / tau_rise): the factor that gives the
    beta kernel a peak of 1 (tau_rise != tau_decay)."""
    t_peak = tau_decay * tau_rise / (tau_decay - tau_rise) * np.log(tau_decay / tau_rise)
    return 1.0 / (np.exp(-t_peak / tau_decay) - np.exp(-t_peak / tau_rise))


def _beta(tau_decay, tau_rise, dt):
    """g = A (b - a), b and a decaying with tau_decay and tau_rise, both += w at an
    arrival; state g and x = A a. Equal time constants: the alpha kernel (its limit)."""
    tau_decay, tau_rise = np.broadcast_arrays(np.asarray(tau_decay, float),
                                              np.asarray(tau_rise, float))
    same = np.isclose(tau_rise, tau_decay, rtol=1e-6, atol=0.0)
    td, tr = tau_decay, np.where(same, 0.5 * tau_decay, tau_rise)  # placeholder if same
    beta = (np.exp(-dt / td), np.exp(-dt / tr), 0.0, beta_peak_factor(tr, td),
            -np.expm1(dt / td - dt / tr), step_mean(td, dt),
            step_mean(td, dt) - step_mean(tr, dt))
    return tuple(np.where(same, a, b) for a, b in zip(_alpha(tau_decay, dt), beta))


def _kernel(shape, tau, dt, tau_rise=None):
    """(decay, decay_x, kick_g, kick_x, cross, mean_g, mean_x) of one synaptic kernel
    (``tau`` is tau_decay for "beta"); the step average of g is mean_g * g_k +
    mean_x * x_k."""
    tau = np.asarray(tau, dtype=float)
    if shape == "alpha":
        return _alpha(tau, dt)
    if shape == "beta":
        return _beta(tau, tau_rise, dt)
    if shape == "delta":
        return np.ones_like(tau), np.ones_like(tau), 0.0, 0.0, 0.0, 0.0, 0.0
    decay = np.exp(-dt / tau)
    return decay, decay, 1.0, 0.0, 0.0, step_mean(tau, dt), 0.0


def hh_columns(surrogate, parameters, dt):
    """Columns of cells run by a Hodgkin-Huxley-type surrogate (exponential
    conductances and their step means, channel parameters, no reset)."""
    inputs = surrogate.synaptic_inputs(parameters)
    size = len(inputs["e_rev_E"])
    cols = {k: np.full(size, NEUTRAL.get(k, 0.0)) for k in COLUMNS}
    cols.update(threshold=surrogate.spike_threshold, conductance=1.0,
                e_rev_E=inputs["e_rev_E"], e_rev_I=inputs["e_rev_I"], i_ext=inputs["i_ext"],
                decay_E=np.exp(-dt / inputs["tau_syn_E"]),
                decay_I=np.exp(-dt / inputs["tau_syn_I"]),
                mean_g_E=step_mean(inputs["tau_syn_E"], dt),
                mean_g_I=step_mean(inputs["tau_syn_I"], dt),
                **{k: inputs[k] for k in hh_channels.PARAMETERS if k in inputs})
    cols.update(decay_x_E=cols["decay_E"], decay_x_I=cols["decay_I"])
    return {k: np.broadcast_to(np.asarray(v, dtype=float), (size,)) for k, v in cols.items()}


def if_columns(parameters, synapses, dt):
    """Columns of integrate-and-fire cells (membrane parameters of ``if_family``);
    ``synapses`` is (``"current"``|``"conductance"``, shape) with shape
    ``"exp"``|``"alpha"``|``"delta"`` for both standard channels, or a sequence of
    (receptor name, ``"exp"``|``"alpha"``|``"beta"``), one per channel."""
    p = {k: np.asarray(v, dtype=float) for k, v in parameters.items()}
    size = len(np.atleast_1d(p["v_rest"]))
    kind, receptors = if_family.receptor_list(synapses)
    shapes = [shape for _, shape in receptors]
    cols = {k: np.full(size, neutral(k)) for k in columns(len(shapes))}
    for r, shape in enumerate(shapes):
        key = suffix(r)
        values = _kernel(shape, p.get(f"tau_syn_{key}", 1.0), dt, p.get(f"tau_rise_{key}"))
        cols.update({f"{name}_{key}": value for name, value in zip(CHANNEL_COLUMNS, values)})
        cols[f"e_rev_{key}"] = p.get(f"e_rev_{key}", 0.0)
    exponential = p["delta_T"] > 0
    cols.update(threshold=np.where(exponential, p["v_spike"], p["v_thresh"]),
                v_reset=p["v_reset"], reset=1.0,
                delta_T=p["delta_T"], v_thresh=p["v_thresh"], a=1e-3 * p["a"], b=p["b"],
                decay_w=np.exp(-dt / p["tau_w"]),
                tau_refrac=p["tau_refrac"],
                delta=1.0 if shapes[0] == "delta" else 0.0,
                conductance=1.0 if kind == "conductance" else 0.0,
                e_rev_E=p["e_rev_E"], e_rev_I=p["e_rev_I"], i_ext=p["i_offset"],
                cm=p["cm"], tau_m=p["tau_m"], v_rest=p["v_rest"],
                e_rev_sfa=p["e_rev_sfa"], e_rev_rr=p["e_rev_rr"],
                q_sfa=p["q_sfa"], q_rr=p["q_rr"],
                decay_s=np.exp(-dt / p["tau_sfa"]), decay_r=np.exp(-dt / p["tau_rr"]),
                mean_s=step_mean(p["tau_sfa"], dt), mean_r=step_mean(p["tau_rr"], dt),
                lambda0=1e-3 * p.get("lambda0", 0.0), delta_v=p.get("delta_v", 1.0),
                v_t_star=p.get("v_t_star", 0.0))
    return {k: np.broadcast_to(np.asarray(v, dtype=float), (size,)) for k, v in cols.items()}


def components(parameters):
    """Number of spike-triggered components (eta_j, gamma_j) of a group's cells: the
    longer of its two sequences; 0 for cells without escape noise."""
    return max((np.atleast_2d(parameters[k]).shape[1] for k in if_family.GIF_COMPONENTS
                if k in parameters), default=0)


def component_columns(parameters, size, k, dt):
    """The (size x k) :data:`COMPONENT_COLUMNS` of a group: eta_j and gamma_j decay by
    exp(-dt / tau) per step and jump by a_eta_j (nA), a_gamma_j (mV) at each spike."""
    out = {}
    for name in ("eta", "gamma"):
        decay, jump = np.ones((size, k)), np.zeros((size, k))
        if f"tau_{name}" in parameters:
            tau = np.atleast_2d(parameters[f"tau_{name}"])[:, :k]
            amp = np.atleast_2d(parameters[f"a_{name}"])[:, :k]
            j = min(tau.shape[1], amp.shape[1])
            tau, amp = tau[:, :j], amp[:, :j]
            on = np.isfinite(tau) & np.isfinite(amp)
            decay[:, :j] = np.where(on, np.exp(-dt / np.where(on, tau, 1.0)), 1.0)
            jump[:, :j] = np.where(on, amp, 0.0)
        out["decay_" + name], out["q_" + name] = decay, jump
    return out


def if_rest_inputs(parameters, synapses, v=None, w=0.0, exponential=False):
    """Inputs of integrate-and-fire cells with no synaptic input: (v_inf, rate), and
    for exponential membranes the exponential term's parameters."""
    zero = np.zeros_like(np.asarray(parameters["v_rest"], dtype=float))
    conductance = 1.0 if synapses[0] == "conductance" else 0.0
    v_inf, rate = if_family.membrane_inputs(zero, zero, zero, zero, parameters, conductance,
                                            i_inj=-np.asarray(w, dtype=float))
    if not exponential:
        return v_inf, rate
    return (v_inf, rate) + tuple(np.broadcast_to(np.asarray(parameters[k], float), zero.shape)
                                 for k in ("delta_T", "v_thresh", "tau_m"))


def izhikevich_columns(parameters, dt):
    """Columns of Izhikevich cells (PyNN parameters a, b, c, d, i_offset): delta
    synapses, and the generic threshold and reset switched off (the cells' own rule,
    ``izhikevich.spike_and_reset``, runs in the loop)."""
    p = {k: np.asarray(v, dtype=float) for k, v in parameters.items()}
    size = len(np.atleast_1d(p["a"]))
    cols = {k: np.full(size, NEUTRAL.get(k, 0.0)) for k in COLUMNS}
    cols.update(threshold=1e9, reset=0.0, delta=1.0, kick_g_E=0.0, kick_g_I=0.0,
                mean_g_E=0.0, mean_g_I=0.0, v_reset=p["c"], i_ext=p["i_offset"],
                izh_a=p["a"], izh_b=p["b"], izh_d=p["d"])
    return {k: np.broadcast_to(np.asarray(v, dtype=float), (size,)) for k, v in cols.items()}


def arrival_columns(cols, channels, dt):
    """Per channel, what the loop needs to propagate an arrival from its time within a
    step to the step's end exactly (``arrival_response``): the decay rates (1/ms) of g
    and of x, and whether the kernel is an alpha function (else x is a beta kernel's
    rising part, or absent: kick_x 0). Derived from the kernel columns."""
    out = {}
    for r in range(channels):
        s = suffix(r)
        decay, decay_x = cols[f"decay_{s}"], cols[f"decay_x_{s}"]
        out[f"rate_g_{s}"] = -np.log(np.clip(decay, 1e-30, 1.0)) / dt
        out[f"rate_x_{s}"] = -np.log(np.clip(decay_x, 1e-30, 1.0)) / dt
        out[f"alpha_{s}"] = ((cols[f"kick_x_{s}"] != 0) & np.isclose(decay_x, decay)
                             & np.isclose(cols[f"cross_{s}"], dt)).astype(float)
    return out


def arrival_response(weight, position, kick_g, kick_x, rate_g, rate_x, alpha, dt, xp=np):
    """The exact response of one kernel to arrivals of total ``weight`` at ``position``
    (fraction of the step from its start, their weighted mean): what they add to g and
    x at the step's end and to g's mean over the step. A kernel kicked at t_a decays over
    s = (1 - position) dt until the step's end: exponential g = w e^(-s/tau); alpha
    x = w k e^(-s/tau), g = s x; beta x = w k e^(-s/tau_r), g = w k (e^(-s/tau) - x/(w k)).
    Exact for one arrival per target and step; several are merged at their mean time
    (charge and first moment exact)."""
    s = dt * (1.0 - position)
    z_g, z_x = rate_g * s, rate_x * s
    e_g, e_x = xp.exp(-z_g), xp.exp(-z_x)
    phi_g, phi_x = _phi(z_g, xp), _phi(z_x, xp)  # tau (1 - e^(-s/tau)) = s phi(s/tau)
    alpha = alpha > 0
    g_x = xp.where(alpha, s * e_g, e_g - e_x)  # g at the end per unit of x kicked
    mean_x = xp.where(alpha, s * s * _psi(z_g, xp), s * (phi_g - phi_x))
    g_add = weight * (kick_g * e_g + kick_x * g_x)
    x_add = weight * kick_x * e_x
    mean_add = weight / dt * (kick_g * s * phi_g + kick_x * mean_x)
    return g_add, x_add, mean_add


def _phi(z, xp):
    """(1 - e^-z) / z, 1 at z = 0."""
    safe = xp.maximum(z, 1e-6)
    return xp.where(z > 1e-6, -xp.expm1(-safe) / safe, 1.0 - 0.5 * z)


def _psi(z, xp):
    """(1 - e^-z (1 + z)) / z^2, 1/2 at z = 0 (series below 0.1: no cancellation)."""
    safe = xp.maximum(z, 0.1)
    exact = (1.0 - xp.exp(-safe) * (1.0 + safe)) / (safe * safe)
    series = 0.5 - z / 3.0 + z * z / 8.0 - z * z * z / 30.0
    return xp.where(z > 0.1, exact, series)


def grazing_crossing(v0, v1, d0, d1, threshold, turn_at=2.0, v_inf=None, xp=np):
    """Threshold crossings hidden inside a step whose two ends are both below threshold.

    v over the step is taken as the cubic Hermite through v0 and v1 with slopes d0
    and d1 (dv/dt times dt, so that the step is [0, 1]). Where v rises and turns
    within the step (d0 > 0 > d1) and the cubic's peak reaches ``threshold``, the cell
    crossed it and came back before the step's end, which a look at the step's ends
    misses (a slowly rising membrane that just touches threshold, as in the
    VAbenchmarks networks; CVODE and NEST's precise models find these crossings).
    An inhibitory arrival at ``turn_at`` (fraction of the step) bends v there, which no
    smooth cubic follows: up to it v relaxes from v0 towards ``v_inf`` (the steady
    state of the inputs at the step's start) with initial slope d0, and crossed
    threshold if it got there first. Both rules need v rising at the step's start and
    falling at its end.
    ``turn_at`` above 1: no arrival. Returns (crossed, position of the first crossing
    in [0, 1])."""
    a = 6.0 * (v0 - v1) + 3.0 * (d0 + d1)  # the cubic's slope: a s^2 + b s + d0
    b = 6.0 * (v1 - v0) - 4.0 * d0 - 2.0 * d1
    root = xp.sqrt(xp.maximum(b * b - 4.0 * a * d0, 0.0))
    # d0 > 0 > d1: exactly one root of the slope in (0, 1); both roots in stable form
    r1 = _divide(2.0 * d0, root - b, xp)
    r2 = _divide(2.0 * d0, -root - b, xp)
    s = xp.clip(xp.where((r1 > 0.0) & (r1 < 1.0), r1, r2), 0.0, 1.0)
    s2, s3 = s * s, s * s * s
    peak = ((2 * s3 - 3 * s2 + 1) * v0 + (s3 - 2 * s2 + s) * d0 + (3 * s2 - 2 * s3) * v1
            + (s3 - s2) * d1)
    crossed = (d0 > 0.0) & (d1 < 0.0) & (v0 < threshold) & (v1 < threshold) & (
        peak >= threshold)
    curvature = xp.maximum(-(2.0 * a * s + b), 1e-9)  # -v'' at the peak, per step^2
    before = xp.sqrt(2.0 * xp.maximum(peak - threshold, 0.0) / curvature)
    smooth = xp.clip(s - before, 0.0, s)
    # rising at the start, falling at the end (a turn within the step), both below
    below = (v0 < threshold) & (v1 < threshold) & (d0 > 0.0) & (d1 < 0.0)
    if v_inf is None:  # where v0 + d0 s meets threshold
        line = _divide(threshold - v0, d0, xp)
        bent = below & (line <= turn_at) & (turn_at <= 1.0)
    else:  # where v0 + (v_inf - v0)(1 - e^(-k s)) does, k = d0 / (v_inf - v0)
        span = v_inf - v0
        reach = _divide(threshold - v0, span, xp)  # in (0, 1) if v_inf is above it
        k = _divide(d0, span, xp)
        line = _divide(-xp.log1p(-xp.clip(reach, 0.0, 1.0 - 1e-7)), k, xp)
        bent = below & (v_inf > threshold) & (line <= turn_at) & (turn_at <= 1.0)
    return crossed | bent, xp.where(bent & (~crossed | (line < smooth)), line, smooth)


def _divide(num, den, xp):
    safe = xp.where(den == 0.0, 1.0, den)
    return xp.where(den == 0.0, 0.0, num / safe)
