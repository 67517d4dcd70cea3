"""Registry of the pretrained surrogates shipped inside the package.

Each model lives in ``models/<celltype>/`` as ``weights.npz`` (plain arrays, loaded
with ``allow_pickle=False``: loading never executes code) and ``metadata.json``
(cell type, dt, architecture, normalisation, parameter domain, measured accuracy,
format version, SHA-256 of the weights).

A surrogate is trained for one time step. The model for dt = 0.1 ms (PyNN's default)
lives in ``models/<celltype>/``, those for other steps in ``models/<celltype>_dt<dt>/``
(e.g. ``IF_membrane_dt0.01``); :func:`load` picks the one whose metadata ``dt``
matches the simulation's.
"""

import hashlib
import json
import math
import os
import re
import warnings
from functools import lru_cache

import numpy as np
from pyNN.errors import InvalidParameterValueError

FORMAT_VERSION = 1
MODELS_DIR = os.path.join(os.path.dirname(__file__), "models")
DEFAULT_DT = 0.1  # ms: the step of the models in the plain ``models/<celltype>/``


_MONITORED = {"g_exc": ("g_exc", "uS"), "g_inh": ("g_inh", "uS"),
              "rate": ("the membrane rate constant (total conductance / cm)", "1/ms"),
              "drive": ("the distance |v_inf - v| to the instantaneous steady state", "mV"),
              "v_depth": ("the hyperpolarisation -v", "mV"),
              "u_abs": ("the recovery variable |u|", "mV/ms")}


def _domain_name(name, domain):
    """The domain entry that bounds parameter ``name``: the synaptic time constants of
    named receptors (``tau_syn_2``, ``tau_rise_E``, ...) share the range of
    ``tau_syn_E``."""
    if name in domain["ranges"] or name in domain["fixed"]:
        return name
    if re.fullmatch(r"tau_syn_\d+|tau_rise_\w+", name) and "tau_syn_E" in domain["ranges"]:
        return "tau_syn_E"
    return name


class OutOfDomainError(InvalidParameterValueError):
    """A cell parameter lies outside the domain the surrogate was trained on."""


class InputRangeWarning(UserWarning):
    """The synaptic input went beyond the range the surrogate was trained on."""


def _warn_user(message):
    """Warn with the location of the first caller outside pyNN.ann and PyNN (the line
    of the user's script), however deep the call chain that noticed the problem."""
    import sys

    import pyNN
    frame, level = sys._getframe(1), 2
    packages = (os.path.dirname(os.path.dirname(__file__)), os.path.dirname(pyNN.__file__))
    while frame is not None and frame.f_code.co_filename.startswith(packages):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, InputRangeWarning, stacklevel=level)


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class UnsupportedTimestepError(NotImplementedError):
    """No shipped surrogate of a cell type was trained at the simulation's time step."""


def same_dt(a, b):
    """Time steps equal up to float rounding (0.1 == 0.1000000001)."""
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-12)


def dt_suffix(dt):
    """Directory (and data file) suffix of models at ``dt`` ms: none at 0.1, else
    ``_dt<dt>`` (``_dt0.01``)."""
    return "" if same_dt(dt, DEFAULT_DT) else f"_dt{float(dt):g}"


def model_dir(celltype, dt=DEFAULT_DT, models_dir=None):
    """Where the surrogate of ``celltype`` for time step ``dt`` lives."""
    return os.path.join(models_dir or MODELS_DIR, celltype + dt_suffix(dt))


def _metadata(directory):
    try:
        with open(os.path.join(directory, "metadata.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def shipped(models_dir=None):
    """{model directory name: (cell type, dt)} of every shipped surrogate."""
    root = models_dir or MODELS_DIR
    out = {}
    if os.path.isdir(root):
        for d in sorted(os.listdir(root)):
            md = _metadata(os.path.join(root, d))
            if md is not None:
                out[d] = (md.get("celltype", d), float(md.get("dt", DEFAULT_DT)))
    return out


def available():
    """Names of the cell types with a shipped surrogate (at any time step)."""
    return sorted({celltype for celltype, _ in shipped().values()})


def timesteps(celltype):
    """The time steps (ms) at which a surrogate of ``celltype`` is shipped, ascending."""
    return sorted(dt for ct, dt in shipped().values() if ct == celltype)


def engine_timestep(dt):
    """The step (ms) at which the engine advances a simulation whose time step is ``dt``.

    ``dt`` itself where some surrogate was trained at it; otherwise the coarsest step
    that every surrogate family is shipped at and that divides ``dt`` a whole number of
    times (``setup(timestep=1.0)`` runs ten 0.1-ms surrogate steps per time step, as
    NEST runs its own solver within a step). Failing both, the coarsest common step
    below ``dt`` (the finest one if ``dt`` is finer than all): the engine then runs off
    the script's grid and recorded signals are interpolated onto it (see
    :func:`off_grid`)."""
    dt = float(dt)
    models = shipped()
    if any(same_dt(step, dt) for _, step in models.values()):
        return dt
    below = [step for step in sorted(_common_steps(models), reverse=True) if step < dt]
    dividing = [step for step in below if not off_grid(dt, step)]
    if dividing or below:
        return (dividing or below)[0]
    common = _common_steps(models)
    return min(common) if common else dt


def _common_steps(models):
    """Time steps at which every surrogate family is shipped."""
    families = {}
    for celltype, step in models.values():
        families.setdefault(celltype, set()).add(round(step, 12))
    return set.intersection(*families.values()) if families else set()


def off_grid(dt, engine_dt):
    """Whether the engine step ``engine_dt`` does not divide the script's ``dt`` (the
    engine then runs on its own grid and signals are resampled onto the script's)."""
    ratio = float(dt) / float(engine_dt)
    return abs(ratio - round(ratio)) > 1e-6 * max(ratio, 1.0) or round(ratio) < 1


class Surrogate:
    """A trained surrogate: the Keras cell with its weights, and its metadata."""

    def __init__(self, directory):
        with open(os.path.join(directory, "metadata.json")) as f:
            self.metadata = json.load(f)
        if self.metadata.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{directory}: unsupported surrogate format "
                             f"{self.metadata.get('format_version')} (expected {FORMAT_VERSION})")
        weights_path = os.path.join(directory, "weights.npz")
        if _sha256(weights_path) != self.metadata["weights_sha256"]:
            raise ValueError(f"{weights_path}: checksum does not match metadata.json")
        with np.load(weights_path, allow_pickle=False) as w:
            self._weights = [w[f"arr_{i}"] for i in range(len(w.files))]
        self.directory = directory

    @property
    def celltype(self):
        return self.metadata["celltype"]

    @property
    def dt(self):
        return self.metadata["dt"]

    @property
    def spike_threshold(self):
        return self.metadata["spike_threshold"]

    @property
    def kind(self):
        """Surrogate kind: "membrane", "exp_membrane" (integrate-and-fire families,
        see ``if_family``), "izhikevich" (see ``izhikevich``) or "hh"."""
        return self.metadata.get("kind", "hh")

    @property
    def is_membrane(self):
        """An integrate-and-fire membrane (leaky or exponential, see ``if_family``)."""
        return self.kind in ("membrane", "exp_membrane")

    @property
    def monitored_inputs(self):
        """Names of the two inputs whose largest values the engine reports per run."""
        if self.kind == "izhikevich":
            return ("v_depth", "u_abs")
        return ("rate", "drive") if self.is_membrane else ("g_exc", "g_inh")

    def build_cell(self):
        """A fresh Keras cell carrying the trained weights."""
        from . import cell as cells
        arch = dict(self.metadata["architecture"])
        cls = getattr(cells, arch.pop("cell", "StreamingSurrogateCell"))
        cell = cls(**arch)
        cell.build((None, len(cls.INPUTS)))
        cell.set_weights(self._weights)
        return cell

    def check_parameters(self, parameters):
        """Raise :class:`OutOfDomainError` if any value lies outside the trained domain."""
        domain = self.metadata["domain"]
        hint = (f"Train a specialised surrogate with `pynn-ann train {self.celltype}` "
                "after widening its training domain (pyNN_ann/surrogates/training/).")
        for name, values in parameters.items():
            values = np.atleast_1d(np.asarray(values, dtype=float))
            name = _domain_name(name, domain)
            if name in domain["fixed"]:
                ref = domain["fixed"][name]
                bad = ~np.isclose(values, ref, rtol=1e-6, atol=0.0)
                if bad.any():
                    raise OutOfDomainError(
                        f"{self.celltype}: {name} = {float(values[bad][0])} is outside the domain of "
                        f"the shipped surrogate, which was trained at {name} = {ref} only. {hint}")
            elif name in domain["ranges"]:
                lo, hi = domain["ranges"][name]
                bad = (values < lo) | (values > hi) | ~np.isfinite(values)
                if bad.any():
                    raise OutOfDomainError(
                        f"{self.celltype}: {name} = {float(values[bad][0])} is outside the domain of "
                        f"the shipped surrogate, [{lo}, {hi}]. {hint}")

    def check_initial(self, name, values):
        """Warn when initial values lie outside the range seen in training (the
        surrogate's memory settles within a few ms, so this is not an error)."""
        ranges = self.metadata["domain"].get("initial", {})
        if name in ranges:
            lo, hi = ranges[name]
            values = np.atleast_1d(np.asarray(values, dtype=float))
            bad = (values < lo) | (values > hi) | ~np.isfinite(values)
            if bad.any():
                if not np.all(np.isfinite(values)):
                    raise OutOfDomainError(f"{self.celltype}: initial {name} must be finite")
                _warn_user(
                    f"{self.celltype}: initial {name} = {float(values[bad][0])} "
                    f"({int(bad.sum())} cell(s)) is outside the trained range [{lo}, {hi}]; "
                    "the first milliseconds are an extrapolation.")

    def check_inputs(self, peaks):
        """Warn when the synaptic conductances reached beyond those seen in training:
        the surrogate's output is then an extrapolation."""
        for name, values in peaks.items():
            limit = self.metadata.get("input_range", {}).get(name)
            if name == "i_ext" and limit is not None:  # a [low, high] range, nA
                bad = (values < limit[0] - 1e-6) | (values > limit[1] + 1e-6)
                if bad.any():
                    _warn_user(
                        f"{self.celltype}: injected current (with i_offset) reached "
                        f"{float(values[bad][0]):.3g} nA, outside the [{limit[0]:.3g}, "
                        f"{limit[1]:.3g}] nA the surrogate was trained with; its output "
                        "there is an extrapolation.")
                continue
            if limit is not None and len(values) and float(np.max(values)) > limit:
                what, unit = _MONITORED[name]
                _warn_user(
                    f"{self.celltype}: {what} reached {float(np.max(values)):.3g} {unit} in "
                    f"{int(np.sum(values > limit))} cell(s), beyond the {limit:.3g} {unit} the "
                    "surrogate was trained with; its output there is an extrapolation "
                    "(reduce the synaptic drive or train with a stronger input regime).")

    def check_weights(self, receptor, weights):
        """Warn when most synapses of a projection are weaker than any the surrogate was
        trained with (``domain["synaptic_weights"]``, uS): many weak inputs make a
        smooth, dense drive the training data did not contain."""
        trained = self.metadata["domain"].get("synaptic_weights", {}).get(receptor)
        weights = np.abs(np.asarray(weights, dtype=float).ravel())
        if trained is None or not len(weights):
            return
        weak = weights < trained[0] * (1 - 1e-6)
        if weak.mean() > 0.5:
            _warn_user(
                f"{self.celltype}: {int(weak.sum())} of {len(weights)} {receptor} synapses "
                f"of a projection have weights below {trained[0]:.3g} uS (median "
                f"{float(np.median(weights)):.3g} uS), the smallest the surrogate was trained "
                f"with (trained: {trained[0]:.3g}-{trained[1]:.3g} uS); a drive made of many "
                "weak inputs is outside its training data and its accuracy there is not "
                "validated (docs/results.md). Train a surrogate with a weak-input regime "
                f"(pyNN_ann/surrogates/training/specs.py, `pynn-ann train {self.celltype}`).")

    def synaptic_inputs(self, parameters):
        """Per-cell constants the engine needs: reversal potentials, synaptic time
        constants, the extra current that replaces ``e_rev_leak`` and ``i_offset``, and
        the channel parameters."""
        p = {k: np.asarray(v, dtype=float) for k, v in parameters.items()}
        ref_leak = self.metadata["reference_leak"]
        i_ext = p["i_offset"] + p["g_leak"] * (p["e_rev_leak"] - ref_leak)
        out = {"e_rev_E": p["e_rev_E"], "e_rev_I": p["e_rev_I"], "i_ext": i_ext,
               "tau_syn_E": p["tau_syn_E"], "tau_syn_I": p["tau_syn_I"]}
        # channel parameters (HH_cond_exp), for surrogates that take them per cell
        from .hh_channels import PARAMETERS
        out.update({k: p[k] for k in PARAMETERS if k in p})
        return out


def find(celltype, dt=DEFAULT_DT):
    """Directory of the shipped surrogate of ``celltype`` trained at ``dt`` ms.

    Raises ``NotImplementedError`` if there is no surrogate of ``celltype`` at all, and
    :class:`UnsupportedTimestepError` (a ``NotImplementedError``) naming the shipped
    time steps and the command that trains one if none was trained at ``dt``."""
    for name, (ct, step) in shipped().items():
        if ct == celltype and same_dt(step, dt):
            return os.path.join(MODELS_DIR, name)
    steps = timesteps(celltype)
    if not steps:
        raise NotImplementedError(
            f"pyNN.ann ships no trained surrogate for {celltype} (available: "
            f"{', '.join(available()) or 'none'}); train one with `pynn-ann train {celltype}`.")
    raise UnsupportedTimestepError(
        f"the {celltype} surrogate is shipped for timestep "
        f"{' and '.join(f'{s:g}' for s in steps)} ms only, not {float(dt):g} ms: use "
        f"setup(timestep={steps[0]:g}) or train one with "
        f"`pynn-ann train {celltype} --dt {float(dt):g}`.")


@lru_cache(maxsize=None)
def load(celltype, directory=None, dt=DEFAULT_DT):
    """The shipped surrogate for ``celltype`` at time step ``dt`` ms (cached); see
    :func:`find`."""
    directory = directory or find(celltype, round(float(dt), 12))
    return Surrogate(directory)


def store_accuracy(celltype, key, accuracy, directory=None, dt=DEFAULT_DT):
    """Record validation results under ``metadata["accuracy"][key]`` of the model of
    ``celltype`` at ``dt``."""
    directory = directory or find(celltype, dt)
    path = os.path.join(directory, "metadata.json")
    with open(path) as f:
        metadata = json.load(f)
    metadata.setdefault("accuracy", {})[key] = accuracy
    with open(path, "w") as f:
        json.dump(metadata, f, indent=2, sort_keys=True)
    load.cache_clear()


def save(directory, cell, metadata):
    """Write ``cell``'s weights and ``metadata`` in the registry format."""
    os.makedirs(directory, exist_ok=True)
    weights_path = os.path.join(directory, "weights.npz")
    np.savez(weights_path, *[np.asarray(w, dtype=np.float32) for w in cell.get_weights()])
    metadata = dict(metadata, format_version=FORMAT_VERSION,
                    weights_sha256=_sha256(weights_path),
                    architecture=dict(
                        {k: v for k, v in cell.get_config().items()
                         if k in ("units", "filters", "window", "norm", "channels",
                                  "conditioned")},
                        cell=type(cell).__name__),
                    flops_per_step=cell.flops_per_step())
    with open(os.path.join(directory, "metadata.json"), "w") as f:
        json.dump(metadata, f, indent=2, sort_keys=True)
    return metadata
