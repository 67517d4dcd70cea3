"""Make ``import pyNN.ann`` resolve to the ``pyNN_ann`` package.

PyNN has no plugin mechanism: a backend is simply a sub-package ``pyNN.<name>``
(``pyNN.utility.get_simulator`` does ``importlib.import_module("pyNN." + name)``).
pyNN.ann is shipped as its own top-level package, ``pyNN_ann``, so that PyNN's files
are never touched.  This module installs a :data:`sys.meta_path` finder that maps
``pyNN.ann`` to ``pyNN_ann`` and ``pyNN.ann.<sub>`` to ``pyNN_ann.<sub>``: the alias
and the real name are *the same module object* (``pyNN.ann is pyNN_ann``), so there
is exactly one copy of the backend's state whichever name a script uses.

The installation puts ``pyNN_ann.pth`` (one line, ``import pyNN_ann_hook``) into
site-packages, so the finder is installed at interpreter start-up.  That costs one
small module import: nothing here imports PyNN, NumPy or TensorFlow until somebody
actually imports ``pyNN.ann``.

Without the ``.pth`` file (for instance when running from a source tree with
``PYTHONPATH``), ``import pyNN_ann_hook`` does the same thing by hand.
"""

import sys

__all__ = ["install", "uninstall", "ALIAS", "TARGET"]

ALIAS = "pyNN.ann"
TARGET = "pyNN_ann"
_PREFIX = ALIAS + "."


class _AliasLoader:
    """Loader that returns the already-imported (or newly imported) real module."""

    def __init__(self, target):
        self.target = target
        self._real_spec = None

    def create_module(self, spec):
        import importlib
        module = importlib.import_module(self.target)
        # importlib's module_from_spec() will now overwrite ``module.__spec__`` with
        # the alias spec; keep the real one so that we can put it back.
        self._real_spec = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module):
        # The module was executed under its real name in create_module(); only undo
        # the __spec__ overwrite so that reload(), pickle, pkgutil etc. see the real
        # package.
        if self._real_spec is not None:
            module.__spec__ = self._real_spec

    def __repr__(self):
        return "<pyNN_ann_hook alias loader for %r>" % self.target


class AliasFinder:
    """Meta-path finder for ``pyNN.ann`` and ``pyNN.ann.*``."""

    _pynn_ann_alias_finder = True  # marker, survives reloading this module

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname == ALIAS:
            real_name = TARGET
        elif fullname.startswith(_PREFIX):
            real_name = TARGET + fullname[len(ALIAS):]
        else:
            return None
        import importlib.util
        from importlib.machinery import ModuleSpec
        try:
            real_spec = importlib.util.find_spec(real_name)
        except ModuleNotFoundError:
            real_spec = None
        if real_spec is None:
            return None  # -> the usual "No module named 'pyNN.ann...'" error
        return ModuleSpec(fullname, _AliasLoader(real_name), origin=real_spec.origin,
                          is_package=real_spec.submodule_search_locations is not None)

    @staticmethod
    def invalidate_caches():
        pass


def _installed():
    return [f for f in sys.meta_path if getattr(f, "_pynn_ann_alias_finder", False)]


def install():
    """Put the finder at the front of :data:`sys.meta_path` (idempotent)."""
    if not _installed():
        # At the front, so that PathFinder never gets the chance to load a second copy
        # of a sub-module from ``pyNN_ann.__path__`` under the ``pyNN.ann.`` name.
        sys.meta_path.insert(0, AliasFinder)


def uninstall():
    """Remove the finder (modules already imported stay in sys.modules)."""
    for finder in _installed():
        sys.meta_path.remove(finder)


install()
