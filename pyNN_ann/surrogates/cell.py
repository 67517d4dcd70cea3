"""The streaming CNN-LSTM surrogate cell (Keras 3, backend-agnostic).

One call advances a batch of neurons by one time step, at a cost of one causal
convolution over a short buffer plus one LSTM update (no window re-run, unlike the
64-sample windowed model of Olah et al. 2022).

Per step the cell receives the exact synaptic conductances and the injected current
(computed by the engine) and carries its own membrane potential ``v``:

    features_k = normalise([v_k, I_syn_k + I_ext_k, g_exc_k + g_inh_k])
    I_syn_k    = g_exc_k (E_exc - v_k) + g_inh_k (E_inh - v_k)
    buffer     = last ``window`` feature vectors (a ring, shifted each step)
    z          = tanh(Conv1D over the buffer)            (causal, one output)
    h, c       = LSTM([z, features_k], h, c)
    v_{k+1}    = v_k + dv_scale * Dense(h)

Training uses the same cell inside ``keras.layers.RNN``; the extra ``v_true`` and
``teacher`` inputs let training substitute the reference ``v_k`` (teacher forcing)
on chosen steps. The engine always runs it free (``teacher = 0``).
"""

import keras
from keras import ops

from . import hh_channels, izhikevich

# order of the per-step input vector
INPUTS = ("g_exc", "g_inh", "e_rev_E", "e_rev_I", "i_ext", "v_true", "teacher")
N_FEATURES = 3


@keras.saving.register_keras_serializable(package="pyNN_ann")
class StreamingSurrogateCell(keras.layers.Layer):
    """One time step of the surrogate for a batch of cells.

    ``norm`` holds the normalisation (``v_mean``, ``v_scale``, ``i_scale``, ``g_scale``,
    ``dv_scale``), fixed at training time and stored with the weights.
    """

    INPUTS = INPUTS
    N_FEATURES = N_FEATURES
    N_OUTPUTS = 1
    DEFAULT_NORM = {"v_mean": -60.0, "v_scale": 30.0, "i_scale": 1.0, "g_scale": 0.05,
                    "dv_scale": 5.0}

    def __init__(self, units=64, filters=16, window=8, norm=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.filters = filters
        self.window = window
        self.norm = dict(norm or self.DEFAULT_NORM)
        # state: v, feature buffer (window * features), h, c
        self.state_size = [1, window * self.N_FEATURES, units, units]
        self.output_size = 1

    def build(self, input_shape):
        f_in = self.window * self.N_FEATURES
        self.conv_kernel = self.add_weight(shape=(f_in, self.filters), name="conv_kernel",
                                           initializer="glorot_uniform")
        self.conv_bias = self.add_weight(shape=(self.filters,), name="conv_bias",
                                         initializer="zeros")
        lstm_in = self.filters + self.N_FEATURES
        self.lstm_kernel = self.add_weight(shape=(lstm_in, 4 * self.units),
                                           name="lstm_kernel", initializer="glorot_uniform")
        self.lstm_recurrent = self.add_weight(shape=(self.units, 4 * self.units),
                                              name="lstm_recurrent",
                                              initializer="orthogonal")
        units = self.units
        self.lstm_bias = self.add_weight(  # forget-gate bias 1 (Jozefowicz et al. 2015)
            shape=(4 * units,), name="lstm_bias",
            initializer=lambda shape, dtype=None: ops.concatenate(
                [ops.zeros((units,)), ops.ones((units,)), ops.zeros((2 * units,))]))
        self.head_kernel = self.add_weight(shape=(self.units, self.N_OUTPUTS),
                                           name="head_kernel", initializer="zeros")
        self.head_bias = self.add_weight(shape=(self.N_OUTPUTS,), name="head_bias",
                                         initializer="zeros")

    def step_features(self, v, inputs):
        """Features of one step from ``v`` and the input matrix (batch, len(INPUTS))."""
        return self.features(v, *[inputs[:, i] for i in range(5)])

    def rest_inputs(self, v_init):
        """Input rows (without v_true/teacher) of cells resting at ``v_init``."""
        zero = ops.zeros_like(v_init)
        return ops.stack([zero] * 5, axis=1)

    def features(self, v, g_exc, g_inh, e_rev_E, e_rev_I, i_ext):
        """Normalised per-step features, shape (batch, N_FEATURES)."""
        n = self.norm
        current = g_exc * (e_rev_E - v) + g_inh * (e_rev_I - v) + i_ext
        return ops.stack([(v - n["v_mean"]) / n["v_scale"], current / n["i_scale"],
                          (g_exc + g_inh) / n["g_scale"]], axis=-1)

    def initial_state(self, v_init, inputs=None):
        """State of cells at ``v_init`` (1-D tensor) with empty memory, as if their
        inputs had always been ``inputs`` (rows without v_true/teacher; default: at
        rest, :meth:`rest_inputs`)."""
        v_init = ops.cast(ops.reshape(v_init, (-1,)), self.compute_dtype)
        if inputs is None:
            inputs = self.rest_inputs(v_init)
        f = self.step_features(v_init, ops.cast(inputs, self.compute_dtype))
        buffer = ops.tile(f, (1, self.window))
        hidden = ops.zeros((ops.shape(v_init)[0], self.units), dtype=self.compute_dtype)
        return [v_init[:, None], buffer, hidden, hidden]

    def call(self, inputs, states):
        v_state, buffer, h, c = states
        v_true, teacher = inputs[:, -2], inputs[:, -1]
        v = self.step_start(teacher * v_true + (1.0 - teacher) * v_state[:, 0], inputs)
        buffer, h, c = self.memory_step(self.step_features(v, inputs), buffer, h, c)
        v_next = v[:, None] + self.increment(v, inputs, h)
        return v_next, [v_next, buffer, h, c]

    def memory_step(self, f, buffer, h, c):
        """Push features ``f`` into the ring ``buffer``; one causal convolution and one
        LSTM update. Returns the new (buffer, h, c)."""
        buffer = ops.concatenate([buffer[:, self.N_FEATURES:], f], axis=-1)
        z = ops.tanh(ops.matmul(buffer, self.conv_kernel) + self.conv_bias)
        gates = (ops.matmul(ops.concatenate([z, f], axis=-1), self.lstm_kernel)
                 + ops.matmul(h, self.lstm_recurrent) + self.lstm_bias)
        i_g, f_g, c_hat, o_g = ops.split(gates, 4, axis=-1)
        c = ops.sigmoid(f_g) * c + ops.sigmoid(i_g) * ops.tanh(c_hat)
        h = ops.sigmoid(o_g) * ops.tanh(c)
        return buffer, h, c

    def step_start(self, v, inputs):
        """v at the step's start from the carried or teacher v (here: itself)."""
        return v

    def increment(self, v, inputs, h):
        """v_{k+1} - v_k (batch, 1) from the LSTM output ``h``."""
        return self.norm["dv_scale"] * (ops.matmul(h, self.head_kernel) + self.head_bias)

    def flops_per_step(self):
        """Multiply-adds x 2 for one neuron-step (nonlinearities counted once each)."""
        f_in = self.window * self.N_FEATURES
        lstm_in = self.filters + self.N_FEATURES
        mac = (f_in * self.filters + (lstm_in + self.units) * 4 * self.units
               + self.units * self.N_OUTPUTS)
        return 2 * mac + self.filters + 5 * self.units + 20

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, filters=self.filters, window=self.window,
                      norm=self.norm)
        return config


@keras.saving.register_keras_serializable(package="pyNN_ann")
class MembraneSurrogateCell(StreamingSurrogateCell):
    """The streaming surrogate of a leaky integrate-and-fire membrane (see
    ``if_family``): one step v_k -> v_{k+1} below threshold.

    Per step the engine gives the membrane's instantaneous steady state ``v_inf``
    (mV) and rate constant ``rate`` (1/ms), into which all cell parameters,
    synaptic and injected inputs are folded. Features: the distance to steady state,
    the rate, and their product (the forward-Euler increment). The network's output
    is the factor by which the true step differs from that increment (exponential
    relaxation, inputs changing within the step), so a cell at its steady state stays
    there exactly: an additive output error would instead shift every cell's
    steady state by error / (rate dt), a lot for slow membranes. Threshold, reset and
    refractory clamp are exact engine rules.
    """

    INPUTS = ("v_inf", "rate", "v_true", "teacher")
    N_FEATURES = 3
    DEFAULT_NORM = {"drive_scale": 10.0, "rate_scale": 0.2, "dt": 0.1, "dv_scale": 1.0}

    def step_features(self, v, inputs):
        n = self.norm
        drive = inputs[:, 0] - v
        rate = inputs[:, 1]
        return ops.stack([drive / n["drive_scale"], rate / n["rate_scale"],
                          drive * rate * n["dt"] / n["dv_scale"]], axis=-1)

    def increment(self, v, inputs, h):
        euler = (inputs[:, 0] - v) * inputs[:, 1] * self.norm["dt"]
        deviation = ops.matmul(h, self.head_kernel)[:, 0] + self.head_bias[0]
        if self.norm.get("rate_scaled", 0.0):
            # the factor's deviation from 1 in units of rate * dt (exact relaxation:
            # 1 - x/2 + ..., x = rate dt): a slow membrane's factor is then exact to
            # the network's error times x, not to the network's error (models trained
            # before this output have no "rate_scaled" and keep the plain deviation)
            deviation = deviation * inputs[:, 1] * self.norm["dt"]
        return (euler * (1.0 + deviation))[:, None]

    def rest_inputs(self, v_init):
        """At rest the steady state is v_init itself; the rate is unknown: 0.05/ms."""
        return ops.stack([v_init, ops.full_like(v_init, 0.05)], axis=1)


@keras.saving.register_keras_serializable(package="pyNN_ann")
class ExponentialMembraneSurrogateCell(MembraneSurrogateCell):
    """The streaming surrogate of the adaptive exponential membrane (AdEx, the EIF
    types). Inputs: the leaky membrane's (v_inf, with the adaptation current w
    folded in, and rate) plus the exponential term's parameters delta_T, v_thresh
    and tau_m, from which the cell evaluates the term f = delta_T / tau_m
    exp((v - v_thresh) / delta_T) and its slope f / delta_T at its own v. Features:
    distance to the linear steady state, rate, the full forward-Euler increment and
    the slope (asinh-compressed: both grow by orders of magnitude at spike onset).
    Output: the factor on the Euler increment, as for the leaky membrane.
    """

    INPUTS = ("v_inf", "rate", "delta_T", "v_thresh", "tau_m", "v_true", "teacher")
    N_FEATURES = 4

    @staticmethod
    def exponential(v, inputs):
        delta = ops.maximum(inputs[:, 2], 1e-3)
        z = ops.minimum((v - inputs[:, 3]) / delta, 30.0)
        on = ops.cast(inputs[:, 2] > 0, v.dtype)
        f = on * inputs[:, 2] * ops.exp(z) / inputs[:, 4]
        return f, f / delta

    def _euler(self, v, inputs):
        f, slope = self.exponential(v, inputs)
        return ((inputs[:, 0] - v) * inputs[:, 1] + f) * self.norm["dt"], slope

    def step_features(self, v, inputs):
        n = self.norm
        euler, slope = self._euler(v, inputs)
        return ops.stack([(inputs[:, 0] - v) / n["drive_scale"], inputs[:, 1] / n["rate_scale"],
                          ops.arcsinh(euler / n["dv_scale"]),
                          ops.arcsinh(slope * n["dt"] * 10.0)], axis=-1)

    def increment(self, v, inputs, h):
        euler, slope = self._euler(v, inputs)
        deviation = ops.matmul(h, self.head_kernel)[:, 0] + self.head_bias[0]
        if self.norm.get("rate_scaled", 0.0):
            # as for the leaky membrane, in units of the step's stiffness: the leak
            # rate plus the exponential term's slope (both >= 0)
            deviation = deviation * (inputs[:, 1] + slope) * self.norm["dt"]
        return (euler * (1.0 + deviation))[:, None]


@keras.saving.register_keras_serializable(package="pyNN_ann")
class IzhikevichSurrogateCell(StreamingSurrogateCell):
    """The streaming surrogate of the Izhikevich membrane (see ``izhikevich``): one
    step v_k -> v_{k+1} below the spike peak.

    Inputs per step: the injected current I (mV/ms), u (mV/ms), the parameters a and
    b, and the synaptic jump (mV) applied at the step's start (the engine applies
    jumps itself and passes 0; training rollouts need it). Features: the known
    increment (see ``_euler``; asinh-compressed: it grows by orders of magnitude on
    the upstroke), the slope dF/dv dt of the vector field F (which gives v), and u's
    change over the step a (b v - u) dt. Output: the (positive) factor on the known
    increment, so fixed points are exact. Spike, reset and u are engine rules.
    """

    INPUTS = ("i", "u", "a", "b", "jump", "v_true", "teacher")
    N_FEATURES = 3
    DEFAULT_NORM = {"dt": 0.1, "dv_scale": 1.0, "slope_scale": 0.2, "du_scale": 0.01}

    def step_start(self, v, inputs):
        """v after the synaptic jumps (the engine applies them itself: jump 0)."""
        return v + inputs[:, 4]

    def _euler(self, v, inputs):
        """The known increment the factor multiplies: (``order`` 3) the exact flow with
        u frozen plus u's drift to second order (``izhikevich.flow_increment``); forward
        Euler (``order`` 1); or (``order`` 2) the second-order Taylor step of the
        coupled system, F dt + dt^2 / 2 (F dF/dv - du/dt). Orders 2 and 3 vanish at the
        system's fixed points rather than on the v-nullcline (where u still moves v)."""
        dt = self.norm["dt"]
        if self.norm.get("order", 1) == 3:
            return izhikevich.flow_increment(v, inputs[:, 1], inputs[:, 0], inputs[:, 2],
                                             inputs[:, 3], dt, xp=ops)
        field = 0.04 * v * v + 5.0 * v + 140.0 - inputs[:, 1] + inputs[:, 0]
        if self.norm.get("order", 1) == 1:
            return field * dt
        du = inputs[:, 2] * (inputs[:, 3] * v - inputs[:, 1])
        return field * dt + 0.5 * dt * dt * ((0.08 * v + 5.0) * field - du)

    def step_features(self, v, inputs):
        n = self.norm
        du = inputs[:, 2] * (inputs[:, 3] * v - inputs[:, 1]) * n["dt"]
        return ops.stack([ops.arcsinh(self._euler(v, inputs) / n["dv_scale"]),
                          (0.08 * v + 5.0) * n["dt"] / n["slope_scale"],
                          du / n["du_scale"]], axis=-1)

    #: v is capped here (mV): beyond the spike peak (30 mV) the engine resets the cell;
    #: the cap keeps training rollouts that spike early (and are not reset) finite
    V_CAP = 40.0

    def increment(self, v, inputs, h):
        """Euler increment x exp(output): the factor stays positive, so a step never
        reverses the known flow (the upstroke cannot stall)."""
        z = ops.clip(ops.matmul(h, self.head_kernel)[:, 0] + self.head_bias[0], -5.0, 5.0)
        step = self._euler(v, inputs) * ops.exp(z)
        return ops.minimum(step, ops.maximum(self.V_CAP - v, 0.0))[:, None]

    def rest_inputs(self, v_init):
        """Cells at v_init with u = 0.2 v_init, no current, a = 0.02, b = 0.2 (the
        engine passes each cell's own rest inputs instead)."""
        zero = ops.zeros_like(v_init)
        return ops.stack([zero, 0.2 * v_init, zero + 0.02, zero + 0.2, zero], axis=1)


@keras.saving.register_keras_serializable(package="pyNN_ann")
class ChannelSurrogateCell(StreamingSurrogateCell):
    """The streaming surrogate of a Hodgkin-Huxley membrane (HH_cond_exp) that
    carries its own channel gates m, h, n (``hh_channels``).

    Per step the cell makes the known part of the update: the gates are predicted
    over the step at v held fixed, and v relaxes exponentially towards the steady
    state of the membrane with the mean of the gates' conductances (and the
    synaptic conductances' exact step means), giving the increment ``base``;
    ``gate_part`` is how much of ``base`` the gates' motion within the step made.
    The network's two outputs correct both,

        v_{k+1} = v_k + base (1 + out_0) + gate_part out_1,

    so a cell at a fixed point stays there exactly; then the gates advance at the
    step's mean v (Rush-Larsen). The channel parameters (``gbar_Na`` ... ``e_rev_K``)
    are per-cell inputs; with ``conditioned`` they are also features of the network.
    State: v, gates, feature ring, LSTM h and c. Training substitutes teacher values
    of v and the gates (``m_true`` ...) on teacher-forced steps (``gate_teacher`` 1);
    the engine passes its own v as the teacher v (as for every cell) and no teacher
    gates.
    """

    CHANNELS = hh_channels.PARAMETERS
    INPUTS = ("g_exc", "g_inh", "e_rev_E", "e_rev_I", "i_ext", "mean_E", "mean_I",
              *CHANNELS, "m_true", "h_true", "n_true", "gate_teacher", "v_true", "teacher")
    N_FEATURES = 8
    N_OUTPUTS = 2
    DEFAULT_NORM = {"v_mean": -60.0, "v_scale": 20.0, "i_scale": 1.0, "dv_scale": 1.0,
                    "dt": 0.1}
    #: PyNN's HH_cond_exp defaults (uS, nF, mV): the feature scales of the channel
    #: parameters, v_offset (NEURON's rate tables) and the leak reversal potential
    #: (e_rev_leak other than e_leak enters as a current)
    DEFAULT_CHANNELS = dict(hh_channels.DEFAULTS, v_offset=-63.0, e_leak=-65.0)
    #: how far beyond the reversal potentials E_K and E_Na v may go (mV)
    V_MARGIN = 10.0

    def __init__(self, units=32, filters=16, window=8, norm=None, channels=None,
                 conditioned=False, **kwargs):
        self.conditioned = bool(conditioned)
        self.N_FEATURES = 8 + (len(self.CHANNELS) if self.conditioned else 0)
        super().__init__(units=units, filters=filters, window=window, norm=norm, **kwargs)
        self.channels = dict(self.DEFAULT_CHANNELS, **(channels or {}))
        self.state_size = [1, 3, window * self.N_FEATURES, units, units]
        self._col = {name: i for i, name in enumerate(self.INPUTS)}
        self._inf, self._tau = hh_channels.tables(self.channels["v_offset"])

    def _in(self, inputs, name):
        return inputs[:, self._col[name]]

    def _gates_in(self, inputs):
        i = self._col["m_true"]
        return inputs[:, i:i + 3]

    def _gate_step(self, gates, v):
        return hh_channels.gate_step(gates, v, ops.convert_to_tensor(self._inf),
                         ops.convert_to_tensor(self._tau), self.norm["dt"], xp=ops)

    def _relax(self, v, gates, g_syn, ge_syn, inputs):
        """Exponential step of v with the gates held: (increment, rate x dt)."""
        p = {name: self._in(inputs, name) for name in self.CHANNELS}
        g_na, g_k = hh_channels.conductances(gates, p["gbar_Na"], p["gbar_K"])
        g_tot = g_na + g_k + p["g_leak"] + g_syn
        i_tot = (g_na * p["e_rev_Na"] + g_k * p["e_rev_K"]
                 + p["g_leak"] * self.channels["e_leak"] + ge_syn + self._in(inputs, "i_ext"))
        x = g_tot / p["cm"] * self.norm["dt"]
        return (i_tot / g_tot - v) * -ops.expm1(-x), x

    def _known_step(self, v, gates, inputs):
        """(base, gate_part, x, synaptic + injected current) of one step."""
        g_e = self._in(inputs, "g_exc") * self._in(inputs, "mean_E")  # step means
        g_i = self._in(inputs, "g_inh") * self._in(inputs, "mean_I")
        g_syn = g_e + g_i
        ge_syn = g_e * self._in(inputs, "e_rev_E") + g_i * self._in(inputs, "e_rev_I")
        mid = 0.5 * (gates + self._gate_step(gates, v))
        base, x = self._relax(v, mid, g_syn, ge_syn, inputs)
        held, _ = self._relax(v, gates, g_syn, ge_syn, inputs)
        return base, base - held, x, ge_syn - g_syn * v + self._in(inputs, "i_ext")

    def _features(self, v, gates, known, inputs):
        n = self.norm
        base, gate_part, x, current = known
        parts = [((v - n["v_mean"]) / n["v_scale"])[:, None], 2.0 * gates - 1.0,
                 ops.stack([ops.arcsinh(base / n["dv_scale"]),
                            ops.arcsinh(gate_part / n["dv_scale"]),
                            0.25 * ops.log(x + 1e-4), current / n["i_scale"]], axis=-1)]
        if self.conditioned:  # relative to PyNN's defaults: 0 there
            ch = self.channels
            parts.append(ops.stack(
                [ops.log(self._in(inputs, k) / ch[k]) for k in ("gbar_Na", "gbar_K",
                                                                "g_leak", "cm")]
                + [(self._in(inputs, k) - ch[k]) / 10.0 for k in ("e_rev_Na", "e_rev_K")],
                axis=-1))
        return ops.concatenate(parts, axis=-1)

    def rest_inputs(self, v_init):
        """No input, PyNN's default channels, gates 0 (the reference's initial state);
        the engine passes each cell's own channels instead."""
        zero = ops.zeros_like(v_init)
        return ops.stack([zero + self.channels[name] if name in self.CHANNELS else zero
                          for name in self.INPUTS[:-2]], axis=1)

    def initial_state(self, v_init, inputs=None):
        """Cells at ``v_init`` with the gates of ``inputs`` (``m_true`` ...; default
        :meth:`rest_inputs`: 0) and a memory as if those inputs had always been."""
        v = ops.cast(ops.reshape(v_init, (-1,)), self.compute_dtype)
        inputs = self.rest_inputs(v) if inputs is None else ops.cast(inputs, self.compute_dtype)
        gates = self._gates_in(inputs)
        f = self._features(v, gates, self._known_step(v, gates, inputs), inputs)
        hidden = ops.zeros((ops.shape(v)[0], self.units), dtype=self.compute_dtype)
        return [v[:, None], gates, ops.tile(f, (1, self.window)), hidden, hidden]

    def call(self, inputs, states):
        v_state, gates, buffer, h, c = states
        teacher = inputs[:, -1]
        v = teacher * inputs[:, -2] + (1.0 - teacher) * v_state[:, 0]
        forced = self._in(inputs, "gate_teacher")[:, None]
        gates = forced * self._gates_in(inputs) + (1.0 - forced) * gates
        known = self._known_step(v, gates, inputs)
        buffer, h, c = self.memory_step(self._features(v, gates, known, inputs), buffer, h, c)
        out = ops.matmul(h, self.head_kernel) + self.head_bias
        base, gate_part = known[0], known[1]
        v_next = ops.clip(v + base * (1.0 + out[:, 0]) + gate_part * out[:, 1],
                          self._in(inputs, "e_rev_K") - self.V_MARGIN,
                          self._in(inputs, "e_rev_Na") + self.V_MARGIN)
        gates = self._gate_step(gates, 0.5 * (v + v_next))
        return v_next[:, None], [v_next[:, None], gates, buffer, h, c]

    def flops_per_step(self):
        """The network's cost plus the known step (two gate advances, three
        conductance evaluations: about 150 operations, exponentials counted once)."""
        return super().flops_per_step() + 150

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, conditioned=self.conditioned)
        return config
