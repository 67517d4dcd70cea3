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


def surrogate_inputs(data, spec):
    """Per-cell arrays the cell consumes: (g_exc, g_inh, e_E, e_I, i_ext), v."""
    p = {k[len("param_"):]: data[k] for k in data if k.startswith("param_")}
    i_ext = p["i_offset"] + p["g_leak"] * (p["e_rev_leak"] - spec.reference_leak)
    const = np.stack([p["e_rev_E"], p["e_rev_I"], i_ext], axis=1).astype(np.float32)
    return data["g_exc"], data["g_inh"], const, data["v"]


def normalisation(g_exc, g_inh, const, v):
    """Scales for the cell's features, from the reference data."""
    current = (g_exc * (const[:, :1] - v) + g_inh * (const[:, 1:2] - v) + const[:, 2:3])
    dv = np.diff(v, axis=1)
    return {"v_mean": float(np.mean(v)), "v_scale": float(np.std(v)),
            "i_scale": float(np.std(current)), "g_scale": float(np.std(g_exc + g_inh)),
            "dv_scale": float(np.percentile(np.abs(dv), 99.9))}


class WindowSampler:
    """Random training windows with a teacher-forcing schedule."""

    def __init__(self, g_exc, g_inh, const, v, length, warmup, rng):
        self.g_exc, self.g_inh, self.const, self.v = g_exc, g_inh, const, v
        self.length, self.warmup, self.rng = length, warmup, rng

    def batch(self, size, horizon, p_start=0.2):
        n_cells, n_samples = self.v.shape
        L = self.length
        cells = self.rng.integers(0, n_cells, size)
        starts = self.rng.integers(0, n_samples - L - 1, size)
        from_zero = self.rng.random(size) < p_start
        starts[from_zero] = 0
        x = np.zeros((size, L, 7), np.float32)
        target = np.zeros((size, L), np.float32)
        mask = np.ones((size, L), np.float32)
        teacher = np.zeros((size, L), np.float32)
        for b, (c, s) in enumerate(zip(cells, starts)):
            sl = slice(s, s + L)
            x[b, :, 0] = self.g_exc[c, sl]
            x[b, :, 1] = self.g_inh[c, sl]
            x[b, :, 2:5] = self.const[c]
            x[b, :, 5] = self.v[c, sl]
            target[b] = self.v[c, s + 1:s + L + 1]
            if not from_zero[b]:
                teacher[b, :self.warmup] = 1.0
                mask[b, :self.warmup] = 0.0
        if horizon is not None:  # re-anchor every `horizon` steps (random phase)
            phase = self.rng.integers(0, max(horizon, 1), (size, 1))
            k = np.arange(L)[None, :]
            teacher = np.maximum(teacher, ((k + phase) % (horizon + 1) == 0))
        x[:, :, 6] = teacher
        v0 = self.v[cells, starts].astype(np.float32)
        return x, target, mask, v0


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
    g_exc, g_inh, const, v = surrogate_inputs(data, spec)
    sampler = WindowSampler(g_exc, g_inh, const, v, length, warmup, rng)
    total = epochs * batches_per_epoch
    lr = keras.optimizers.schedules.CosineDecay(learning_rate, total, alpha=0.05)
    optimizer = keras.optimizers.Adam(lr, clipnorm=1.0)
    if not cell.built:
        cell.build((None, 7))
    make = _jax_trainer if keras.backend.backend() == "jax" else _tf_trainer
    step, finish = make(cell, optimizer, loss)
    history = []
    bar = tqdm(total=total, disable=not progress, desc="training", unit="batch")
    for epoch in range(epochs):
        frac = (epoch + 0.5) / epochs
        horizon = next(h for f, h in schedule if frac <= f)
        losses = []
        for _ in range(batches_per_epoch):
            x, target, mask, v0 = sampler.batch(batch_size, horizon)
            losses.append(float(step(x, target, mask, v0)))
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
    def step(x, target, mask, v0):
        with tf.GradientTape() as tape:
            pred = rnn(x, initial_state=cell.initial_state(v0))[:, :, 0]
            loss = _loss(pred, target, mask, cell.norm["v_scale"], loss_kind)
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

    def loss_fn(params, x, target, mask, v0):
        def body(states, x_t):
            (out, new_states), _ = cell.stateless_call(params, [], x_t, states)
            return new_states, out[:, 0]
        _, pred = jax.lax.scan(body, cell.initial_state(v0), jnp.swapaxes(x, 0, 1))
        return _loss(jnp.swapaxes(pred, 0, 1), target, mask, cell.norm["v_scale"], loss_kind)

    @jax.jit
    def update(params, opt_vars, x, target, mask, v0):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, target, mask, v0)
        params, opt_vars = optimizer.stateless_apply(opt_vars, grads, params)
        return loss, params, opt_vars

    state = {"params": params, "opt": opt_vars}

    def step(x, target, mask, v0):
        loss, state["params"], state["opt"] = update(state["params"], state["opt"],
                                                     x, target, mask, v0)
        return loss

    def finish():
        for var, value in zip(cell.trainable_variables, state["params"]):
            var.assign(value)

    return step, finish
