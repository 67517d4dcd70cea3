"""Keep TensorFlow's start-up chatter off the user's terminal.

Imported first by ``pyNN_ann/__init__.py``, before anything imports TensorFlow or
Keras.  Unless the environment variable ``PYNN_ANN_VERBOSE`` is set (to anything but
``0``/``false``/``no``/``off``/empty), it

* sets ``TF_CPP_MIN_LOG_LEVEL=2`` (if the user has not set it): TensorFlow's C++
  INFO and WARNING lines (CPU-feature notices, XLA service start-up, ...) are dropped,
  errors still show;
* filters what native code writes to stderr *while TensorFlow is being imported*:
  a few messages are logged before TensorFlow applies ``TF_CPP_MIN_LOG_LEVEL`` (the
  absl "All log messages before absl::InitializeLog() ..." banner and the oneDNN
  notice, each printed once per TensorFlow library).  Known-harmless lines are
  dropped, anything else is written to stderr after the import, unchanged; if the
  import fails, everything is shown;
* raises the Python loggers ``tensorflow`` and (once absl is imported) ``absl`` to
  ERROR: AutoGraph and retracing notices are for the developers of this package, not
  for its users;
* ignores the protobuf "gencode version" UserWarning.

PyNN's own warnings are left alone.  With ``PYNN_ANN_VERBOSE=1`` this module does
nothing at all.  It never imports TensorFlow itself.
"""

import logging
import os
import re
import sys
import warnings
from contextlib import contextmanager

__all__ = ["VERBOSE", "quiet_native_stderr", "is_harmless"]


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


VERBOSE = _flag("PYNN_ANN_VERBOSE")

# Lines from native code that carry no information for a user.
_HARMLESS = re.compile("|".join([
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called",
    r"^I\d{4} \d\d:\d\d:\d\d\.\d+ ",                         # absl/glog INFO line
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: I ",              # older TF INFO line
    r"^To enable the following instructions: .* rebuild TensorFlow",
    r"oneDNN custom operations are on",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"TF-TRT Warning: Could not find TensorRT",
    r"computation placer already registered",
    r"Could not find cuda drivers on your machine",
]))


def is_harmless(line):
    """True for a native log line that :func:`quiet_native_stderr` drops."""
    return bool(_HARMLESS.search(line))


@contextmanager
def quiet_native_stderr(enabled=True):
    """Capture file descriptor 2 for the duration of the block, then write back every
    line that :func:`is_harmless` does not recognise (all of them if the block raises).

    Works on what C/C++ libraries write, which ``sys.stderr`` redirection cannot see.
    Does nothing when ``enabled`` is false, in verbose mode, or when fd 2 cannot be
    duplicated.
    """
    if not enabled or VERBOSE:
        yield
        return
    import tempfile
    try:
        _flush_stderr()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    capture = tempfile.TemporaryFile()
    failed = True
    try:
        os.dup2(capture.fileno(), 2)
        yield
        failed = False
    finally:
        _flush_stderr()
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8", errors="replace")
        capture.close()
        lines = text.splitlines(keepends=True)
        if not failed:
            lines = [line for line in lines if not is_harmless(line)]
        if lines:
            try:
                sys.stderr.write("".join(lines))
                sys.stderr.flush()
            except Exception:  # noqa: BLE001 - never let the filter hide an exception
                pass


def _flush_stderr():
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # noqa: BLE001
            pass


class _QuietLoader:
    """Wraps the real loader of ``tensorflow``: exec_module() inside quiet_native_stderr()."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        try:
            with quiet_native_stderr():
                self._loader.exec_module(module)
        finally:
            # leave no trace of the wrapper on the imported package
            module.__loader__ = self._loader
            if getattr(module, "__spec__", None) is not None:
                module.__spec__.loader = self._loader
            _quiet_python_loggers()

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _QuietImportFinder:
    """One-shot meta-path finder that wraps the import of the top-level ``tensorflow``."""

    _pynn_ann_quiet_finder = True
    names = frozenset(["tensorflow"])

    def __init__(self):
        self._busy = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names or self._busy:
            return None
        import importlib.util
        self._busy = True
        try:
            spec = importlib.util.find_spec(fullname)   # the other finders' answer
        except (ImportError, ValueError):
            return None
        finally:
            self._busy = False
        self._remove()
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec

    def _remove(self):
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass

    def invalidate_caches(self):
        pass


def _quiet_python_loggers():
    # The "absl" logger must be created by absl.logging itself (it installs its own
    # Logger class when it creates it), so it is touched only once absl is imported.
    names = ["tensorflow"] + (["absl"] if "absl.logging" in sys.modules else [])
    for name in names:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)


def _install():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _quiet_python_loggers()
    warnings.filterwarnings("ignore", message=r".*Protobuf gencode version", category=UserWarning)
    if "tensorflow" not in sys.modules and not any(
            getattr(f, "_pynn_ann_quiet_finder", False) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImportFinder())


if not VERBOSE:
    _install()
