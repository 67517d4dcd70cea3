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

# order of the per-step input vector
INPUTS = ("g_exc", "g_inh", "e_rev_E", "e_rev_I", "i_ext", "v_true", "teacher")
N_FEATURES = 3


@keras.saving.register_keras_serializable(package="pyNN_ann")
class StreamingSurrogateCell(keras.layers.Layer):
    """One time step of the surrogate for a batch of cells.

    ``norm`` holds the normalisation (``v_mean``, ``v_scale``, ``i_scale``, ``g_scale``,
    ``dv_scale``), fixed at training time and stored with the weights.
    """

    def __init__(self, units=64, filters=16, window=8, norm=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.filters = filters
        self.window = window
        self.norm = dict(norm or {"v_mean": -60.0, "v_scale": 30.0, "i_scale": 1.0,
                                  "g_scale": 0.05, "dv_scale": 5.0})
        # state: v, feature buffer (window * features), h, c
        self.state_size = [1, window * N_FEATURES, units, units]
        self.output_size = 1

    def build(self, input_shape):
        f_in = self.window * N_FEATURES
        self.conv_kernel = self.add_weight(shape=(f_in, self.filters), name="conv_kernel",
                                           initializer="glorot_uniform")
        self.conv_bias = self.add_weight(shape=(self.filters,), name="conv_bias",
                                         initializer="zeros")
        lstm_in = self.filters + N_FEATURES
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
        self.head_kernel = self.add_weight(shape=(self.units, 1), name="head_kernel",
                                           initializer="zeros")
        self.head_bias = self.add_weight(shape=(1,), name="head_bias", initializer="zeros")

    def features(self, v, g_exc, g_inh, e_rev_E, e_rev_I, i_ext):
        """Normalised per-step features, shape (batch, N_FEATURES)."""
        n = self.norm
        current = g_exc * (e_rev_E - v) + g_inh * (e_rev_I - v) + i_ext
        return ops.stack([(v - n["v_mean"]) / n["v_scale"], current / n["i_scale"],
                          (g_exc + g_inh) / n["g_scale"]], axis=-1)

    def initial_state(self, v_init):
        """State of resting cells at ``v_init`` (1-D tensor): zero input, empty memory."""
        v_init = ops.cast(ops.reshape(v_init, (-1,)), self.compute_dtype)
        zero = ops.zeros_like(v_init)
        f = self.features(v_init, zero, zero, zero, zero, zero)
        buffer = ops.tile(f, (1, self.window))
        hidden = ops.zeros((ops.shape(v_init)[0], self.units), dtype=self.compute_dtype)
        return [v_init[:, None], buffer, hidden, hidden]

    def call(self, inputs, states):
        v_state, buffer, h, c = states
        g_exc, g_inh, e_rev_E, e_rev_I, i_ext, v_true, teacher = [
            inputs[:, i] for i in range(len(INPUTS))]
        v = teacher * v_true + (1.0 - teacher) * v_state[:, 0]
        f = self.features(v, g_exc, g_inh, e_rev_E, e_rev_I, i_ext)
        buffer = ops.concatenate([buffer[:, N_FEATURES:], f], axis=-1)
        z = ops.tanh(ops.matmul(buffer, self.conv_kernel) + self.conv_bias)
        gates = (ops.matmul(ops.concatenate([z, f], axis=-1), self.lstm_kernel)
                 + ops.matmul(h, self.lstm_recurrent) + self.lstm_bias)
        i_g, f_g, c_hat, o_g = ops.split(gates, 4, axis=-1)
        c = ops.sigmoid(f_g) * c + ops.sigmoid(i_g) * ops.tanh(c_hat)
        h = ops.sigmoid(o_g) * ops.tanh(c)
        dv = ops.matmul(h, self.head_kernel) + self.head_bias
        v_next = v[:, None] + self.norm["dv_scale"] * dv
        return v_next, [v_next, buffer, h, c]

    def flops_per_step(self):
        """Multiply-adds x 2 for one neuron-step (nonlinearities counted once each)."""
        f_in = self.window * N_FEATURES
        lstm_in = self.filters + N_FEATURES
        mac = f_in * self.filters + (lstm_in + self.units) * 4 * self.units + self.units
        return 2 * mac + self.filters + 5 * self.units + 20

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, filters=self.filters, window=self.window,
                      norm=self.norm)
        return config
