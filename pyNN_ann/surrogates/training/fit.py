"""Fit a :class:`StreamingSurrogateCell` to reference data (TensorFlow backend).

Training windows are cut from the reference traces. Each window starts either at
t = 0 (true initial state) or mid-trace after a teacher-forced warm-up (loss masked)
that lets the LSTM memory settle. The curriculum goes from one-step-ahead teacher
forcing to free-running rollouts re-anchored to the reference every ``horizon``
steps (multiple shooting), ending with long free runs, so that the model is trained
on its own predictions as it will be used in the engine.
"""

import time

import numpy as np
from scipy.signal import lfilter

from .. import if_family, izhikevich


def surrogate_inputs(data, spec):
    """Per-step inputs the cell consumes besides v: (inputs [cells, samples, n],
    reference v [cells, samples], clamp [cells, samples] or None).

    ``clamp`` marks samples under an exact engine rule (spike, reset, refractory
    clamp of integrate-and-fire cells): they are fed from the reference and left
    out of the loss.
    """
    p = {k[len("param_"):]: data[k] for k in data if k.startswith("param_")}
    v = data["v"]
    if hasattr(spec, "surrogate_inputs"):  # a cell type that prepares its own
        return spec.surrogate_inputs(data)
    if getattr(spec, "model", None) in (if_family.MODEL, if_family.EIF_MODEL):
        return if_inputs(data, p) + (if_clamp(data, p),)
    if getattr(spec, "cell", None) == "ChannelSurrogateCell":
        return channel_inputs(data, spec), v, None
    i_ext = p["i_offset"] + p["g_leak"] * (p["e_rev_leak"] - spec.reference_leak)
    n = v.shape[1]
    const = [np.broadcast_to(c[:, None], v.shape) for c in (p["e_rev_E"], p["e_rev_I"], i_ext)]
    inputs = np.stack([data["g_exc"], data["g_inh"]] + const, axis=-1).astype(np.float32)
    assert inputs.shape[1] == n
    return inputs, v, None


def channel_inputs(data, spec):
    """Inputs of ``cell.ChannelSurrogateCell`` (cells, samples, its INPUTS but the
    last two): conductances at the step's start, reversal potentials, the injected
    current (with e_rev_leak's difference from the reference leak), the kernels' step
    means, the channel parameters, the teacher gates along the reference v
    (``hh_channels.gates_along``) and a zero gate_teacher column."""
    from ...engine.cell_rules import step_mean
    from .. import hh_channels
    p = {k[len("param_"):]: data[k] for k in data if k.startswith("param_")}
    v = data["v"]
    dt = float(data["dt"])
    i_ext = p["i_offset"] + p["g_leak"] * (p["e_rev_leak"] - spec.reference_leak)
    const = [np.broadcast_to(c[:, None], v.shape) for c in (
        p["e_rev_E"], p["e_rev_I"], i_ext, step_mean(p["tau_syn_E"], dt),
        step_mean(p["tau_syn_I"], dt),
        *(p[name] for name in hh_channels.PARAMETERS))]
    offsets = np.unique(p["v_offset"])
    if len(offsets) != 1:
        raise ValueError(f"reference cells with several v_offset values: {offsets}")
    gates = hh_channels.gates_along(v, dt, float(offsets[0]))
    flag = np.zeros(v.shape + (1,), np.float32)  # gate_teacher: set by the sampler
    return np.concatenate([np.stack([data["g_exc"], data["g_inh"]] + const, axis=-1),
                           gates, flag], axis=-1).astype(np.float32)


def _membrane(data, p):
    celltypes = [str(c) for c in data["celltype"]]
    m = {}
    for ct in sorted(set(celltypes)):
        rows = np.array([c == ct for c in celltypes])
        part = if_family.membrane_parameters(
            ct, {k: v[rows] for k, v in p.items() if not np.all(np.isnan(v[rows]))})
        for k, val in part.items():
            m.setdefault(k, np.zeros(len(celltypes)))[rows] = val
    conductance = np.array([if_family.SYNAPSES[c][0] == "conductance" for c in celltypes],
                           float)
    return m, conductance


def spike_steps(data):
    """Grid index of the first sample at or after each reference spike, per cell."""
    dt = float(data["dt"])
    times = np.split(data["spike_times"], np.cumsum(data["spike_counts"])[:-1])
    return [_step_after(t, dt) for t in times]


def _step_after(spike_times, dt):
    """Grid index of the first sample at or after each spike time."""
    return np.ceil(np.asarray(spike_times) / dt - 1e-6).astype(np.int64)


def spike_triggered(spike_times, q, tau, n_samples, dt):
    """A conductance that jumps by ``q`` at each spike and decays with ``tau``, on the
    grid, as the engine computes it: a spike's jump is added at the end of its step,
    decayed from the crossing time to there."""
    steps = _step_after(spike_times, dt)
    inside = steps < n_samples
    decay = np.exp(-dt / tau)
    since = steps[inside] - np.asarray(spike_times)[inside] / dt  # steps
    kicks = np.bincount(steps[inside], weights=q * decay ** since, minlength=n_samples)
    return lfilter([1.0], [1.0, -decay], kicks)


def if_inputs(data, p):
    """(v_inf, rate) of integrate-and-fire reference cells on the grid, computed from
    the input spikes exactly as the engine computes them (step-averaged kernels)."""
    from ...engine.cell_rules import _kernel, step_mean
    m, conductance = _membrane(data, p)
    n_cells, n = data["v"].shape
    dt = float(data["dt"])
    g = {}
    for key, tau in (("exc", "tau_syn_E"), ("inh", "tau_syn_I")):
        g[key] = np.zeros((n_cells, n))
        trains = np.split(data[f"{key}_times"], np.cumsum(data[f"{key}_counts"])[:-1])
        for i, t in enumerate(trains):
            shape = if_family.SYNAPSES[str(data["celltype"][i])][1]
            decay, _, kick_g, kick_x, alpha_dt, mean_g, mean_x = _kernel(shape, m[tau][i], dt)
            steps = np.round((t + data["delay"][i]) / dt).astype(np.int64)
            jumps = np.bincount(steps[steps < n], minlength=n) * data[f"{key}_weight"][i]
            x = lfilter([1.0], [1.0, -decay], jumps * kick_x)
            # g_k = decay * (g_{k-1} + alpha_dt * x_{k-1}) + kick_g * jumps_k
            g_k = lfilter([1.0], [1.0, -decay], kick_g * jumps
                          + np.concatenate([[0.0], decay * alpha_dt * x[:-1]]))
            g[key][i] = mean_g * g_k + mean_x * x
    g_s, g_r = np.zeros((n_cells, n)), np.zeros((n_cells, n))
    times = np.split(data["spike_times"], np.cumsum(data["spike_counts"])[:-1])
    for i, t in enumerate(times):
        for out, tau, q in ((g_s, "tau_sfa", "q_sfa"), (g_r, "tau_rr", "q_rr")):
            out[i] = step_mean(m[tau][i], dt) * spike_triggered(t, m[q][i], m[tau][i], n, dt)
    col = {k: v[:, None] for k, v in m.items()}
    exponential = np.any(m["delta_T"] > 0) or np.any(m["a"] != 0) or np.any(m["b"] != 0)
    w = adaptation_current(data, m) if exponential else 0.0
    v_inf, rate = if_family.membrane_inputs(g["exc"], g["inh"], g_s, g_r, col,
                                            conductance[:, None], i_inj=-w)
    columns = [v_inf, rate]
    if exponential:
        columns += [np.broadcast_to(col[k], v_inf.shape) for k in ("delta_T", "v_thresh",
                                                                   "tau_m")]
    return np.stack(columns, axis=-1).astype(np.float32), data["v"]


def adaptation_current(data, m):
    """w (nA) of AdEx reference cells on the grid, as the engine computes it from v:
    w_{k+1} = w_k d + a (1 - d) (v_mean - v_rest) + b [spike at k+1], v_mean from
    :func:`if_family.adaptation_voltage` (a spike step: up to the threshold, then
    v_reset from the reference spike time on)."""
    dt = float(data["dt"])
    v = data["v"]
    n = v.shape[1]
    w = np.zeros_like(v, dtype=float)
    threshold = np.where(m["delta_T"] > 0, m["v_spike"], m["v_thresh"])
    times = np.split(data["spike_times"], np.cumsum(data["spike_counts"])[:-1])
    for i, steps in enumerate(spike_steps(data)):
        d = np.exp(-dt / m["tau_w"][i])
        inside = (steps > 0) & (steps < n)
        fired = np.bincount(steps[inside], minlength=n).astype(float)
        after = np.zeros(n)  # fraction of the spike step after the crossing
        after[steps[inside]] = steps[inside] - np.asarray(times[i])[inside] / dt
        v_mean = if_family.adaptation_voltage(v[i, :-1], v[i, 1:], threshold[i],
                                              m["v_reset"][i], fired[1:] > 0, after[1:])
        drive = 1e-3 * m["a"][i] * (1 - d) * (v_mean - m["v_rest"][i])
        u = np.concatenate([[0.0], drive + m["b"][i] * (fired * d ** after)[1:]])
        w[i] = lfilter([1.0], [1.0, -d], u)
    return w


def if_clamp(data, p):
    """Samples from one before each reference spike to 0.2 ms (two samples at dt 0.1)
    after the refractory period (the sample before a spike can carry the resampled
    spike peak, those just after the reset the interpolation across it)."""
    m, _ = _membrane(data, p)
    n_cells, n = data["v"].shape
    dt = float(data["dt"])
    extra = max(3, int(np.ceil(0.3 / dt - 1e-6)))
    clamp = np.zeros((n_cells, n), bool)
    for i, steps in enumerate(spike_steps(data)):
        width = int(round(m["tau_refrac"][i] / dt)) + extra
        for s in steps:
            clamp[i, max(s - 1, 0):s - 1 + width] = True
    return clamp


def normalisation(inputs, v, clamp, spec, dt=0.1):
    """Scales for the cell's features, from the reference data (clamped samples out)."""
    dv = np.diff(v, axis=1)
    if getattr(spec, "model", None) in (if_family.MODEL, if_family.EIF_MODEL):
        free = ~(clamp[:, :-1] | clamp[:, 1:])
        drive = (inputs[:, :-1, 0] - v[:, :-1])[free]
        return {"drive_scale": float(np.std(drive)),
                "rate_scale": float(np.std(inputs[:, :-1, 1][free])),
                "dt": float(dt), "dv_scale": float(np.percentile(np.abs(dv[free]), 99.9))}
    if getattr(spec, "cell", None) == "ChannelSurrogateCell":
        g_exc, g_inh, e_e, e_i, i_ext, mean_e, mean_i = (
            inputs[..., k] for k in range(7))
        current = mean_e * g_exc * (e_e - v) + mean_i * g_inh * (e_i - v) + i_ext
        # dv_scale: the mV per step that the compressed increments count as unit
        return {"v_mean": float(np.mean(v)), "v_scale": float(np.std(v)),
                "i_scale": float(np.std(current)), "dv_scale": float(dt) / 0.1,
                "dt": float(dt)}
    g_exc, g_inh, e_e, e_i, i_ext = np.moveaxis(inputs, -1, 0)
    current = g_exc * (e_e - v) + g_inh * (e_i - v) + i_ext
    return {"v_mean": float(np.mean(v)), "v_scale": float(np.std(v)),
            "i_scale": float(np.std(current)), "g_scale": float(np.std(g_exc + g_inh)),
            "dv_scale": float(np.percentile(np.abs(dv), 99.9))}


class WindowSampler:
    """Random training windows with a teacher-forcing schedule."""

    def __init__(self, inputs, v, clamp, length, warmup, rng, rest_init, weights=None,
                 teacher_copies=()):
        self.inputs, self.v, self.clamp = inputs, v, clamp
        self.teacher_copies = list(teacher_copies)  # input columns that get the flag too
        self.length, self.warmup, self.rng = length, warmup, rng
        self.rest_init = rest_init  # True: memory starts from rest inputs (HH)
        self.weights = weights  # None or per-sample loss weights (cells x samples)

    def batch(self, size, horizon, p_start=0.2):
        n_cells, n_samples = self.v.shape
        L = self.length
        n_in = self.inputs.shape[-1]
        cells = self.rng.integers(0, n_cells, size)
        starts = self.rng.integers(0, n_samples - L - 1, size)
        from_zero = self.rng.random(size) < p_start
        starts[from_zero] = 0
        x = np.zeros((size, L, n_in + 2), np.float32)
        target = np.zeros((size, L), np.float32)
        mask = np.ones((size, L), np.float32)
        teacher = np.zeros((size, L), np.float32)
        forced = np.zeros((size, L), bool)
        for b, (c, s) in enumerate(zip(cells, starts)):
            sl = slice(s, s + L)
            x[b, :, :n_in] = self.inputs[c, sl]
            x[b, :, n_in] = self.v[c, sl]
            target[b] = self.v[c, s + 1:s + L + 1]
            if self.clamp is not None:
                forced[b] = self.clamp[c, sl]
                mask[b, self.clamp[c, s + 1:s + L + 1]] = 0.0
            if self.weights is not None:
                mask[b] *= self.weights[c, s + 1:s + L + 1]
            if not from_zero[b]:
                teacher[b, :self.warmup] = 1.0
                mask[b, :self.warmup] = 0.0
        if horizon is not None:  # re-anchor every `horizon` steps (random phase)
            phase = self.rng.integers(0, max(horizon, 1), (size, 1))
            k = np.arange(L)[None, :]
            teacher = np.maximum(teacher, ((k + phase) % (horizon + 1) == 0))
        x[:, :, n_in + 1] = np.maximum(teacher, forced)
        for col in self.teacher_copies:
            x[:, :, col] = x[:, :, n_in + 1]
        v0 = self.v[cells, starts].astype(np.float32)
        init = np.zeros((size, n_in), np.float32) if self.rest_init else x[:, 0, :n_in]
        return x, target, mask, v0, init


def train(cell, data, spec, epochs=30, batches_per_epoch=100, batch_size=64, length=600,
          warmup=150, learning_rate=2e-3, seed=0, progress=True, log_every=None, timings=None,
          schedule=((0.25, 0), (0.5, 5), (0.75, 10), (1.0, 20)), loss="huber"):
    """Train ``cell`` in place; returns the loss history.

    ``schedule`` lists (fraction of epochs, horizon) pairs: horizon 0 is pure teacher
    forcing, k re-anchors every k free steps, None is a free run after the warm-up.
    Horizons beyond a few ms teach the model to flatten spikes whose timing it cannot
    know (the regression-to-the-mean failure of long free runs), so the default stays
    within 2 ms. ``loss`` is "huber" or "mse" on the normalised membrane potential.
    """
    import keras
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    inputs, v, clamp = surrogate_inputs(data, spec)
    weights = spec.loss_weights(inputs, v, clamp) if hasattr(spec, "loss_weights") else None
    # cells whose memory starts from the window's first inputs (the channel cell
    # also takes its gates from them) rather than from rest
    from_inputs = (getattr(spec, "model", None) in (
        if_family.MODEL, if_family.EIF_MODEL, izhikevich.MODEL)
        or getattr(spec, "cell", None) == "ChannelSurrogateCell")
    sampler = WindowSampler(inputs, v, clamp, length, warmup, rng,
                            rest_init=not from_inputs, weights=weights,
                            teacher_copies=[i for i, name in enumerate(cell.INPUTS)
                                            if name == "gate_teacher"])
    total = epochs * batches_per_epoch
    lr = keras.optimizers.schedules.CosineDecay(learning_rate, total, alpha=0.05)
    optimizer = keras.optimizers.Adam(lr, clipnorm=1.0)
    if not cell.built:
        cell.build((None, len(cell.INPUTS)))
    make = _jax_trainer if keras.backend.backend() == "jax" else _tf_trainer
    step, finish = make(cell, optimizer, loss)
    history = []
    bar = tqdm(total=total, disable=not progress, desc="training", unit="batch")
    for epoch in range(epochs):
        frac = (epoch + 0.5) / epochs
        horizon = next(h for f, h in schedule if frac <= f)
        losses = []
        for _ in range(batches_per_epoch):
            x, target, mask, v0, init = sampler.batch(batch_size, horizon)
            losses.append(float(step(x, target, mask, v0, init)))
            bar.update()
            if timings is not None:
                timings.append(time.perf_counter())
        history.append(float(np.mean(losses)))
        bar.set_postfix(epoch=epoch, horizon=horizon, loss=f"{history[-1]:.2e}")
        if log_every and epoch % log_every == 0:
            print(f"epoch {epoch} horizon {horizon} loss {history[-1]:.3e}", flush=True)
    bar.close()
    finish()
    return history


def _v_scale(cell):
    """mV that count as unit error: the spread of v (HH) or one step's change (IF)."""
    return cell.norm.get("v_scale") or cell.norm["dv_scale"]


def _loss(pred, target, mask, v_scale, kind):
    """Masked Huber or squared error on the normalised membrane potential."""
    from keras import ops
    err = (pred - target) / v_scale
    if kind == "mse":
        per_sample = 0.5 * err ** 2
    else:
        per_sample = ops.where(ops.abs(err) < 0.5, 0.5 * err ** 2, 0.5 * (ops.abs(err) - 0.25))
    return ops.sum(mask * per_sample) / ops.maximum(ops.sum(mask), 1.0)


def _tf_trainer(cell, optimizer, loss_kind):
    import keras
    import tensorflow as tf
    rnn = keras.layers.RNN(cell, return_sequences=True)

    @tf.function(jit_compile=True)
    def step(x, target, mask, v0, init):
        with tf.GradientTape() as tape:
            pred = rnn(x, initial_state=cell.initial_state(v0, init))[:, :, 0]
            loss = _loss(pred, target, mask, _v_scale(cell), loss_kind)
        grads = tape.gradient(loss, cell.trainable_weights)
        optimizer.apply_gradients(zip(grads, cell.trainable_weights))
        return loss

    return step, lambda: None


def _jax_trainer(cell, optimizer, loss_kind):
    """Functional training step for the JAX backend (scan over time, jit)."""
    import jax
    import jax.numpy as jnp

    optimizer.build(cell.trainable_variables)
    params = [v.value for v in cell.trainable_variables]
    opt_vars = [v.value for v in optimizer.variables]

    def loss_fn(params, x, target, mask, v0, init):
        def body(states, x_t):
            (out, new_states), _ = cell.stateless_call(params, [], x_t, states)
            return new_states, out[:, 0]
        _, pred = jax.lax.scan(body, cell.initial_state(v0, init), jnp.swapaxes(x, 0, 1))
        return _loss(jnp.swapaxes(pred, 0, 1), target, mask, _v_scale(cell), loss_kind)

    @jax.jit
    def update(params, opt_vars, x, target, mask, v0, init):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, target, mask, v0, init)
        params, opt_vars = optimizer.stateless_apply(opt_vars, grads, params)
        return loss, params, opt_vars

    state = {"params": params, "opt": opt_vars}

    def step(x, target, mask, v0, init):
        loss, state["params"], state["opt"] = update(state["params"], state["opt"],
                                                     x, target, mask, v0, init)
        return loss

    def finish():
        for var, value in zip(cell.trainable_variables, state["params"]):
            var.assign(value)

    return step, finish


def training_record(args, started, history, **facts):
    """The ``training`` block of a model's metadata: the reference, ``facts`` about
    the data (cells, regimes, duration_ms), the recipe in ``args``, the wall time since
    ``started`` (``time.perf_counter()``) and the final loss."""
    import datetime

    import keras
    recipe = {key: getattr(args, key) for key in (
        "seed", "epochs", "batches_per_epoch", "batch_size", "length", "learning_rate",
        "loss", "schedule")}
    return {"reference": "pyNN.neuron 9.0.2, CVODE rtol=atol=1e-6", **facts, **recipe,
            "keras_backend": keras.backend.backend(),
            "seconds": round(time.perf_counter() - started, 1),
            "final_loss": history[-1], "date": datetime.date.today().isoformat()}
