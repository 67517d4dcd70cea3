"""Helpers for the reference simulators used in training and validation."""

import os
import shutil
import subprocess


def neuron_mechanism_dir():
    import pyNN
    return os.path.join(os.path.dirname(pyNN.__file__), "neuron", "nmodl")


def ensure_neuron_mechanisms(quiet=True):
    """Compile pyNN.neuron's NMODL mechanisms once (``nrnivmodl``) if they are missing."""
    nmodl = neuron_mechanism_dir()
    if os.path.exists(os.path.join(nmodl, "x86_64", ".libs", "libnrnmech.so")) or \
            any(os.path.exists(os.path.join(nmodl, arch, "libnrnmech.so"))
                for arch in ("x86_64", "aarch64", "arm64")):
        return nmodl
    exe = shutil.which("nrnivmodl")
    if exe is None:
        raise RuntimeError("nrnivmodl not found: install the reference extra "
                           "(pip install 'pyNN-ann[reference]')")
    subprocess.run([exe], cwd=nmodl, check=True,
                   stdout=subprocess.DEVNULL if quiet else None,
                   stderr=subprocess.DEVNULL if quiet else None)
    return nmodl
