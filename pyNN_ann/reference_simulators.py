"""Helpers for the reference simulators used in training and validation.

pyNN.neuron's alpha-kernel synapses (``AlphaISyn`` of IF_curr_alpha, ``AlphaSyn`` of
IF_cond_alpha, EIF_cond_alpha_isfa_ista and alpha receptors) keep every input spike of
the last 20 tau_syn in a queue of 1000 entries per synapse. Once the queue is full,
further input spikes are dropped (NEURON prints one "Spike queue is full" line to
stdout and carries on), so a cell receiving more than 1000 / (20 tau_syn) spikes per
ms gets a fraction of its input: with tau_syn_E = 22 ms, above ~2.3 kHz. Our
random protocols reach 40 kHz (up to 32 000 spikes within 20 tau_syn). An independent
exact integration agrees with NEST and with pyNN.neuron whose queues are longer, not
with pyNN.neuron as shipped (72 spikes against 210 on one cell). So the single-cell
reference runs load a copy of pyNN.neuron's mechanisms, built once, that differs only
in that queue length (:func:`import_neuron`), and a run whose queue still overflows
fails (:data:`QUEUE_FULL`). The copy costs 2 x 8 bytes x the queue length per alpha
synapse (0.8 MB), so network scripts keep pyNN.neuron's own mechanisms.
"""

import contextlib
import io
import os
import re
import shutil
import subprocess
import tempfile

#: bumped whenever what a converged (CVODE) reference run computes changes, so that
#: cached reference runs of earlier revisions are not reused
CVODE_REVISION = "events2"

#: queue length of the reference's alpha synapses (pyNN.neuron ships 1000)
ALPHA_QUEUE_LENGTH = 50000
#: what pyNN.neuron's alpha synapses print (once) when they start dropping spikes
QUEUE_FULL = "Spike queue is full"
_QUEUE_DEFINE = re.compile(r"^(DEFINE\s+MAX_SPIKES\s+)\d+", re.MULTILINE)
_ARCHS = ("x86_64", "aarch64", "arm64", "i686", "powerpc", "umac")


def neuron_mechanism_dir():
    """The directory of pyNN.neuron's own NMODL mechanisms."""
    import pyNN
    return os.path.join(os.path.dirname(pyNN.__file__), "neuron", "nmodl")


def _compiled(path):
    return any(os.path.exists(os.path.join(path, arch, lib))
               for arch in _ARCHS for lib in ("libnrnmech.so", ".libs/libnrnmech.so"))


def _nrnivmodl(cwd, quiet):
    exe = shutil.which("nrnivmodl")
    if exe is None:
        raise RuntimeError("nrnivmodl not found: install the reference extra "
                           "(pip install 'pyNN-ann[reference]')")
    subprocess.run([exe], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL if quiet else None,
                   stderr=subprocess.DEVNULL if quiet else None)


def ensure_neuron_mechanisms(quiet=True):
    """Compile pyNN.neuron's NMODL mechanisms once (``nrnivmodl``) if they are missing,
    and the reference's copy with long alpha-synapse queues (:func:`reference_mechanism_dir`).
    Returns pyNN.neuron's own directory."""
    nmodl = neuron_mechanism_dir()
    if not _compiled(nmodl):
        _nrnivmodl(nmodl, quiet)
    reference_mechanism_dir(quiet)
    return nmodl


def _cache_root():
    root = os.environ.get("PYNN_ANN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "pynn_ann")
    os.makedirs(root, exist_ok=True)
    return root


def reference_mechanism_dir(quiet=True):
    """pyNN.neuron's mechanisms with ``MAX_SPIKES`` of the alpha synapses raised to
    :data:`ALPHA_QUEUE_LENGTH`, compiled once into the user's cache (``PYNN_ANN_CACHE``
    or ``~/.cache/pynn_ann``); every other line is pyNN.neuron's own."""
    import neuron
    import pyNN
    target = os.path.join(_cache_root(), f"nmodl-pyNN{pyNN.__version__}-neuron"
                          f"{neuron.__version__}-queue{ALPHA_QUEUE_LENGTH}")
    if _compiled(target):
        return target
    build = tempfile.mkdtemp(prefix="nmodl-", dir=os.path.dirname(target))
    changed = 0
    for name in sorted(os.listdir(neuron_mechanism_dir())):
        if not name.endswith((".mod", ".inc")):
            continue
        with open(os.path.join(neuron_mechanism_dir(), name)) as f:
            text = f.read()
        text, n = _QUEUE_DEFINE.subn(rf"\g<1>{ALPHA_QUEUE_LENGTH}", text)
        changed += n
        with open(os.path.join(build, name), "w") as f:
            f.write(text)
    if changed < 2:  # alphaisyn.mod and alphasyn.mod
        raise RuntimeError(f"pyNN {pyNN.__version__}: expected MAX_SPIKES in the alpha "
                           f"synapse mechanisms, found {changed}")
    _nrnivmodl(build, quiet)
    try:
        os.rename(build, target)  # atomic: a concurrent build's result is as good
    except OSError:
        shutil.rmtree(build, ignore_errors=True)
    return target


def import_neuron():
    """``pyNN.neuron``, with the reference's mechanisms (long alpha-synapse queues)
    loaded in place of its own. Call before anything else imports pyNN.neuron."""
    import sys
    if "pyNN.neuron" in sys.modules:
        if reference_mechanism_dir() not in __import__("neuron").nrn_dll_loaded:
            raise RuntimeError("pyNN.neuron was imported with its own mechanisms "
                               "(alpha-synapse queues of 1000 spikes) before "
                               "pyNN_ann.reference_simulators.import_neuron()")
        return sys.modules["pyNN.neuron"]
    import neuron
    own = ensure_neuron_mechanisms()
    neuron.load_mechanisms(reference_mechanism_dir())
    neuron.nrn_dll_loaded.append(own)  # pyNN.neuron then skips its own copy
    with contextlib.redirect_stdout(io.StringIO()):  # its "already loaded" notice
        import pyNN.neuron
    return pyNN.neuron


def import_simulator(name):
    """``pyNN.<name>``; pyNN.neuron through :func:`import_neuron`."""
    if name == "neuron":
        return import_neuron()
    import importlib
    return importlib.import_module(f"pyNN.{name}")


def interpolate_threshold_crossings(sim):
    """On pyNN.neuron with CVODE active, locate threshold crossings by interpolation
    (NEURON's ``condition_order(2)``); returns whether it applied.

    By default CVODE puts a threshold crossing (a spike, and so an integrate-and-fire
    reset) at the end of the integrator step in which it happened. On a slowly charging
    membrane those steps are long. An IF_cond_exp cell under constant current then
    spikes 0.03 to 1.3 ms late, and each interspike interval is that much too long
    (PyNN's global CVODE, rtol = atol = 1e-6, against the closed form). With
    interpolation the error is at most 0.004 ms, or 0.025 ms with local time steps.
    Fixed-step runs keep NEURON's defaults: they stand for NEURON as users run it."""
    if not sim.__name__.endswith(".neuron"):
        return False
    cvode = sim.simulator.state.cvode
    if not cvode.active():
        return False
    cvode.condition_order(2)
    return True
