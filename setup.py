"""Packaging for pyNN.ann (distribution name ``pyNN-ann``).

Besides the ``pyNN_ann`` package this installs

* ``pyNN_ann_hook`` (a one-file top-level module) and
* ``pyNN_ann.pth`` into site-packages, whose single line imports ``pyNN_ann_hook`` at
  interpreter start-up, which makes ``import pyNN.ann`` resolve to ``pyNN_ann``
  (see pyNN_ann_hook.py and README.md, "How pyNN.ann is hooked into PyNN").

setuptools has no option for "put this file at the root of site-packages", so
``build_py`` is extended:

* regular builds (``pip install .``, ``python -m build``): the ``.pth`` file is copied to
  the root of ``build_lib`` and so lands at the root of the wheel, i.e. in site-packages;
* editable builds (``pip install -e .``, PEP 660): setuptools' ``editable_wheel`` does not
  put ``build_lib`` into the wheel, but it points the ``install`` command's ``install_lib``
  at the unpacked editable wheel (where it also writes scripts and data files), so the
  ``.pth`` file is written there.  The editable finder that setuptools installs
  (``__editable__.pyNN_ann-*.pth``) sorts before ``pyNN_ann.pth``, so
  ``pyNN_ann_hook`` is importable from the source tree by the time our line runs.

Which TensorFlow distribution is required can be chosen at build time with the
environment variable ``PYNN_ANN_TENSORFLOW`` (default: ``tensorflow-cpu`` on x86-64
Linux, ``tensorflow`` elsewhere; e.g. ``PYNN_ANN_TENSORFLOW="tensorflow[and-cuda]"`` for
NVIDIA GPUs, or ``none`` to leave TensorFlow out, for the JAX backend).
"""

import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py as _build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PTH = "pyNN_ann.pth"
VERSION = "0.1.0.dev0"

TF_MIN = ">=2.16"


def tensorflow_requirements():
    choice = os.environ.get("PYNN_ANN_TENSORFLOW", "").strip()
    if choice.lower() == "none":
        return []
    if choice:
        if not any(op in choice for op in "<>=!~@"):
            choice += TF_MIN
        return [choice]
    # tensorflow-cpu (no CUDA libraries, small) exists for x86-64 Linux; elsewhere the
    # plain tensorflow distribution is the CPU build
    return ['tensorflow-cpu%s; sys_platform == "linux" and platform_machine == "x86_64"'
            % TF_MIN,
            'tensorflow%s; sys_platform != "linux" or platform_machine != "x86_64"' % TF_MIN]


class build_py(_build_py):
    """build_py that also ships ``pyNN_ann.pth`` at the root of site-packages."""

    def run(self):
        super().run()
        source = os.path.join(HERE, PTH)
        if getattr(self, "editable_mode", False):
            target_dir = self._editable_wheel_dir()
            if target_dir is None:
                self.warn("could not locate the editable wheel directory: %s not "
                          "installed; run 'import pyNN_ann_hook' by hand" % PTH)
                return
        else:
            target_dir = self.build_lib
        self.mkpath(target_dir)
        self.copy_file(source, os.path.join(target_dir, PTH), preserve_mode=False)

    def _editable_wheel_dir(self):
        # editable_wheel sets install.install_lib to the unpacked wheel, which already
        # holds the .dist-info directory at this point: check, rather than trust.
        install_lib = getattr(self.get_finalized_command("install"), "install_lib", None)
        if install_lib and os.path.isdir(install_lib) and any(
                name.endswith(".dist-info") for name in os.listdir(install_lib)):
            return install_lib
        return None

    def get_outputs(self, include_bytecode=1):
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs.append(os.path.join(self.build_lib, PTH))
        return outputs


def long_description():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as fp:
        return fp.read()


setup(
    name="pyNN-ann",
    version=VERSION,
    description="PyNN backend that simulates neurons with pretrained CNN-LSTM surrogates",
    long_description=long_description(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["pyNN_ann", "pyNN_ann.*"]),
    py_modules=["pyNN_ann_hook"],
    package_data={
        # shipped surrogates: weights (*.weights.h5, *.keras, *.npz), metadata.json,
        # checksums ... in any layout below surrogates/models/
        "pyNN_ann": ["surrogates/models/**/*"],
    },
    exclude_package_data={"": ["*.pyc", "*.pyo", "*/__pycache__/*"]},
    include_package_data=False,
    zip_safe=False,
    install_requires=[
        "PyNN>=0.13,<0.14",
        "neo>=0.13.4",
        "quantities",
        "numpy",
        "lazyarray>=0.5.2",
        "keras>=3",
        "scipy",
        "tqdm",
        "matplotlib",
        "elephant",
        "nixio",
    ] + tensorflow_requirements(),
    extras_require={
        "reference": ["neuron==9.0.2"],
        "nest": ["nest-simulator==3.10.*"],
        "jax": ["jax"],
        "test": ["pytest", "neuron==9.0.2", "nest-simulator==3.10.*", "jax"],
        "docs": ["sphinx"],
    },
    entry_points={
        "console_scripts": ["pynn-ann = pyNN_ann.cli:main"],
    },
    cmdclass={"build_py": build_py},
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Intended Audience :: Science/Research",
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
        "Topic :: Scientific/Engineering",
    ],
)
