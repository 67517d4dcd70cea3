"""The integrate-and-fire family: one membrane surrogate serves seven PyNN cell types.

IF_curr_exp, IF_curr_alpha, IF_curr_delta, IF_cond_exp, IF_cond_alpha,
IF_cond_exp_gsfa_grr and IF_facets_hardware1 share the same leaky membrane,

    cm dv/dt = g_L (v_rest - v) + I_syn + i_offset + I_inj   (+ adaptation conductances),

and differ only in their synaptic kernels (current or conductance; exponential, alpha
or delta) and in two optional spike-triggered conductances (g_s, g_r of
IF_cond_exp_gsfa_grr). Kernels, adaptation conductances, threshold, reset and the
refractory clamp are exact rules computed by the engine; the membrane update
v_k -> v_{k+1} is the surrogate's. Per step the engine hands the surrogate

    v_inf = I_total / G_total   (mV, the instantaneous steady state)
    rate  = G_total / cm        (1/ms, the instantaneous membrane rate constant)

with G_total = g_L + conductances and I_total = g_L v_rest + currents + g E terms.
Cell parameters thus enter as surrogate inputs, so one batch holds cells with any
mixture of parameters within the trained input range.

GIF_cond_exp (generalized integrate-and-fire with escape noise; Mensi et al. 2012,
Pozzorini et al. 2015, as NEST's gif_cond_exp) runs on the same membrane: its
spike-triggered current eta = sum_j eta_j enters as a current -eta, and it has no
deterministic threshold; the engine computes eta_j, the moving threshold
v_t = v_t_star + sum_j gamma_j and the escape-noise spikes exactly
(``engine/escape_noise.py``).

This module maps each cell type's PyNN parameters onto those membrane parameters;
the adapter and the training pipeline both use it.
"""

import numpy as np

MODEL = "IF_membrane"  # the registry name of the shared leaky membrane surrogate
EIF_MODEL = "EIF_membrane"  # the adaptive exponential membrane (AdEx)

#: cell type -> (synapse type, kernel shape)
SYNAPSES = {
    "IF_curr_exp": ("current", "exp"),
    "IF_curr_alpha": ("current", "alpha"),
    "IF_curr_delta": ("current", "delta"),
    "IF_cond_exp": ("conductance", "exp"),
    "IF_cond_alpha": ("conductance", "alpha"),
    "IF_cond_exp_gsfa_grr": ("conductance", "exp"),
    "IF_facets_hardware1": ("conductance", "exp"),
    "EIF_cond_exp_isfa_ista": ("conductance", "exp"),
    "EIF_cond_alpha_isfa_ista": ("conductance", "alpha"),
}
#: cell type -> the surrogate that runs it
MODELS = {name: EIF_MODEL if name.startswith("EIF_") else MODEL for name in SYNAPSES}
CELLTYPES = tuple(name for name in SYNAPSES if MODELS[name] == MODEL)
EIF_CELLTYPES = tuple(name for name in SYNAPSES if MODELS[name] == EIF_MODEL)
#: escape-noise types (run by MODEL, not part of its training data)
GIF_SYNAPSES = {"GIF_cond_exp": ("conductance", "exp")}
#: per-cell sequences of the GIF types: (n_cells, K) arrays, NaN where a cell has
#: fewer than K components
GIF_COMPONENTS = ("tau_eta", "a_eta", "tau_gamma", "a_gamma")
NO_THRESHOLD = 1e9  # mV: the threshold of cells that spike by escape noise only
#: the two synaptic channels of the standard types
STANDARD_RECEPTORS = ("excitatory", "inhibitory")
#: kernel shapes of named receptors (composed PointNeuron types)
RECEPTOR_SHAPES = ("exp", "alpha", "beta")


def channel_suffix(channel):
    """Suffix of synaptic channel ``channel``'s membrane parameters and engine columns:
    E and I for the two standard channels (``tau_syn_E``, ``e_rev_I``), then 2, 3, ...
    (``tau_syn_2``; beta kernels also ``tau_rise_<suffix>``)."""
    return ("E", "I")[channel] if channel < 2 else str(channel)


def receptor_list(synapses):
    """``synapses`` -> (type, [(receptor name, shape), ...]), at least two channels.

    ``synapses`` is (type, shape) for the standard types (channels "excitatory" and
    "inhibitory", one shape) or (type, [(name, shape), ...]) for named receptors."""
    kind, shapes = synapses
    if isinstance(shapes, str):
        return kind, [(name, shapes) for name in STANDARD_RECEPTORS]
    receptors = [(str(name), str(shape)) for name, shape in shapes]
    for name, shape in receptors:
        if shape not in RECEPTOR_SHAPES:
            raise ValueError(f"receptor {name!r}: kernel shape {shape!r} is not one of "
                             f"{RECEPTOR_SHAPES}")
    while len(receptors) < 2:  # an unused channel keeps the layout uniform
        receptors.append((f".unused{len(receptors)}", "exp"))  # no receptor has a "."
    return kind, receptors

#: parameters of the membrane (engine names), with their meaning and unit
MEMBRANE_PARAMETERS = {
    "cm": "nF", "tau_m": "ms", "v_rest": "mV", "v_thresh": "mV", "v_reset": "mV",
    "tau_refrac": "ms", "i_offset": "nA", "tau_syn_E": "ms", "tau_syn_I": "ms",
    "e_rev_E": "mV", "e_rev_I": "mV",
    # spike-triggered conductances (nS; zero increments for all but gsfa_grr)
    "q_sfa": "nS", "tau_sfa": "ms", "e_rev_sfa": "mV",
    "q_rr": "nS", "tau_rr": "ms", "e_rev_rr": "mV",
    # adaptive exponential (EIF types; delta_T 0 and a, b 0 for the others): spikes at
    # v_spike, exponential current g_L delta_T exp((v - v_thresh) / delta_T),
    # adaptation current w with tau_w dw/dt = a (v - v_rest) - w, w += b at spikes
    "delta_T": "mV", "v_spike": "mV", "a": "nS", "b": "nA", "tau_w": "ms",
    # escape noise (GIF types; lambda0 0 for the others): hazard
    # lambda0 exp((v - v_t) / delta_v), v_t = v_t_star + sum of the gamma_j
    "lambda0": "Hz", "delta_v": "mV", "v_t_star": "mV",
}
_DEFAULTS = {"i_offset": 0.0, "e_rev_E": 0.0, "e_rev_I": -70.0, "tau_syn_E": 5.0,
             "tau_syn_I": 5.0, "q_sfa": 0.0, "tau_sfa": 100.0, "e_rev_sfa": -75.0,
             "q_rr": 0.0, "tau_rr": 2.0, "e_rev_rr": -75.0,
             "delta_T": 0.0, "a": 0.0, "b": 0.0, "tau_w": 100.0,
             "lambda0": 0.0, "delta_v": 1.0, "v_t_star": 0.0}
# IF_facets_hardware1's fixed values (PyNN docstring: cm 0.2 nF, tau_refrac 1 ms, e_rev_E 0)
_FACETS = {"cm": 0.2, "tau_refrac": 1.0, "e_rev_E": 0.0, "i_offset": 0.0}


def membrane_parameters(celltype, parameters):
    """PyNN parameters of ``celltype`` (name -> array) -> membrane parameters."""
    if celltype not in SYNAPSES and celltype not in GIF_SYNAPSES:
        raise KeyError(f"{celltype} is not an integrate-and-fire type ({', '.join(CELLTYPES)})")
    p = {k: np.asarray(v, dtype=float) for k, v in parameters.items()}
    if celltype in GIF_SYNAPSES:  # no deterministic threshold
        p["v_thresh"] = p["v_spike"] = np.full_like(p["v_rest"], NO_THRESHOLD)
    if celltype == "IF_facets_hardware1":
        p = dict(p, **_FACETS)
        if "g_leak" in p:  # PyNN's name (nS); the adapter stores tau_m natively
            p["tau_m"] = _FACETS["cm"] * 1000.0 / p.pop("g_leak")
    if "v_spike" not in p:  # the leaky types spike at v_thresh
        p["v_spike"] = p["v_thresh"]
    out = {}
    for name in MEMBRANE_PARAMETERS:
        out[name] = p.get(name, _DEFAULTS.get(name))
        if out[name] is None:
            raise KeyError(f"{celltype}: missing parameter {name}")
    if celltype in GIF_SYNAPSES:
        out.update({name: p[name] for name in GIF_COMPONENTS})
        check_gif(out)
    return out


def component_array(values):
    """Per-cell sequences (PyNN ArrayParameters, lists or arrays) -> (n, K) float array,
    NaN-padded where a cell has fewer than K entries; a 2-D array passes unchanged."""
    if isinstance(values, np.ndarray) and values.dtype != object and values.ndim == 2:
        return values.astype(float)
    rows = [np.asarray(getattr(x, "value", x), dtype=float).ravel() for x in values]
    out = np.full((len(rows), max((len(r) for r in rows), default=0)), np.nan)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def check_gif(parameters):
    """Raise ``InvalidParameterValueError`` for GIF parameters that define no model:
    time constants <= 0, delta_v <= 0, lambda0 < 0, a cell whose tau_eta and a_eta (or
    tau_gamma and a_gamma) differ in length."""
    from pyNN.errors import InvalidParameterValueError
    p = parameters
    for tau, amp in (("tau_eta", "a_eta"), ("tau_gamma", "a_gamma")):
        if tau not in p or amp not in p:
            continue
        t, a = np.atleast_2d(p[tau]), np.atleast_2d(p[amp])
        k = max(t.shape[1], a.shape[1])
        t, a = (np.pad(x, ((0, 0), (0, k - x.shape[1])), constant_values=np.nan)
                for x in (t, a))
        if np.any(np.isnan(t) != np.isnan(a)):
            cell = int(np.argmax(np.any(np.isnan(t) != np.isnan(a), axis=1)))
            raise InvalidParameterValueError(
                f"GIF_cond_exp: {tau} and {amp} must have the same length (cell {cell}: "
                f"{t[cell][~np.isnan(t[cell])].tolist()} and "
                f"{a[cell][~np.isnan(a[cell])].tolist()})")
        bad = ~np.isnan(t) & ~(t > 0)
        if bad.any():
            raise InvalidParameterValueError(
                f"GIF_cond_exp: {tau} = {float(t[bad][0])} ms; time constants must be > 0")
    for name, ok, rule in (("delta_v", lambda x: x > 0, "> 0 mV"),
                           ("lambda0", lambda x: x >= 0, ">= 0 Hz")):
        if name in p:
            x = np.atleast_1d(np.asarray(p[name], dtype=float))
            if not np.all(ok(x) & np.isfinite(x)):
                raise InvalidParameterValueError(
                    f"GIF_cond_exp: {name} = {float(x[~(ok(x) & np.isfinite(x))][0])} "
                    f"must be {rule}")


def membrane_inputs(g_exc, g_inh, g_s, g_r, params, conductance, i_inj=0.0, extra=None):
    """(v_inf, rate): the membrane's instantaneous steady state (mV) and rate (1/ms).

    ``g_exc``/``g_inh`` are conductances (uS) where ``conductance`` is 1 and currents
    (nA, inhibitory ones negative) where it is 0; ``g_s``/``g_r`` are in nS. ``extra``
    is None or (sum of g, sum of g * e_rev) over the channels beyond the first two
    (named receptors). Works on NumPy arrays and on backend tensors alike (the engine
    calls it inside its loop).
    """
    g_leak = params["cm"] / params["tau_m"]
    g_syn, ge_syn = g_exc + g_inh, g_exc * params["e_rev_E"] + g_inh * params["e_rev_I"]
    if extra is not None:
        g_syn, ge_syn = g_syn + extra[0], ge_syn + extra[1]
    g_tot = g_leak + conductance * g_syn + 1e-3 * (g_s + g_r)
    i_tot = (g_leak * params["v_rest"] + params["i_offset"] + i_inj
             + conductance * ge_syn
             + (1.0 - conductance) * g_syn
             + 1e-3 * (g_s * params["e_rev_sfa"] + g_r * params["e_rev_rr"]))
    return i_tot / g_tot, g_tot / params["cm"]


def adaptation_voltage(v0, v1, threshold, v_reset, spiked, after, xp=np):
    """The mean of v over a step from v0 to v1 that drives the adaptation current w
    (tau_w dw/dt = a (v - v_rest) - w): linear between the two; in a step with a spike,
    linear up to the threshold and then ``v_reset`` for the fraction ``after`` of the
    step that follows the crossing (as in pyNN.neuron's AdExpIF, whose w goes on
    integrating through the refractory clamp). Averaging v0 and the threshold over the
    whole spike step would overestimate w at every spike; with a large ``a`` the error
    builds up from spike to spike."""
    rising = 0.5 * (v0 + xp.minimum(v1, threshold))
    return xp.where(spiked, (1.0 - after) * 0.5 * (v0 + threshold) + after * v_reset,
                    rising)
