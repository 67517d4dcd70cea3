"""Packaging: the ``pyNN.ann`` import hook, the installed ``.pth`` file, the quiet
TensorFlow import and the ``pynn-ann`` command.

Everything that depends on interpreter start-up runs in a fresh subprocess.  Tests
that need the installed distribution skip when it is not installed (e.g. when the
tests run from a source tree with PYTHONPATH).
"""

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = "pyNN-ann"
TF_CHATTER = ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard",
              "This TensorFlow binary is optimized", "WARNING:tensorflow", "WARNING:absl")


def _site_dirs():
    import site
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dirs if os.path.isdir(d)]


def _distribution():
    """The installed pyNN-ann distribution, looked for in the site directories only (a
    build in the source tree leaves a pyNN_ann.egg-info there, which is no installation)."""
    return next(iter(importlib.metadata.distributions(name=DIST, path=_site_dirs())), None)


def _hook_dir():
    """Directory from which a subprocess can import pyNN_ann_hook."""
    spec = importlib.util.find_spec("pyNN_ann_hook")
    if spec is not None and spec.origin:
        return os.path.dirname(spec.origin)
    if os.path.exists(os.path.join(REPO, "pyNN_ann_hook.py")):
        return REPO
    pytest.skip("pyNN_ann_hook is neither installed nor in the source tree")


def _run(code, tmp_path, extra_path=(), env=None, timeout=300):
    """Run ``code`` in a fresh interpreter started in ``tmp_path`` (not the repo)."""
    env = dict(os.environ if env is None else env)
    path = [str(p) for p in extra_path]
    path += [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if path:
        env["PYTHONPATH"] = os.pathsep.join(path)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _check(proc):
    assert proc.returncode == 0, \
        f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


# --- the import hook itself (independent of the backend's state) -----------------------

def test_hook_maps_alias_to_same_module_objects(tmp_path):
    """With a stand-in target package: pyNN.ann[.sub] is the target[.sub] module object."""
    pkg = tmp_path / "fake_backend"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import a\nSTATE = []\n")
    (pkg / "a.py").write_text("X = 1\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "m.py").write_text("from .. import a\n")
    proc = _run("""
        import importlib, sys
        import pyNN_ann_hook
        pyNN_ann_hook.TARGET = "fake_backend"       # map pyNN.ann -> fake_backend
        import pyNN.ann as sim
        import fake_backend
        assert sim is fake_backend, (sim, fake_backend)
        assert sys.modules["pyNN.ann"] is fake_backend
        import pyNN
        assert pyNN.ann is fake_backend
        assert sim.__name__ == "fake_backend" and sim.__spec__.name == "fake_backend"
        import pyNN.ann.sub.m
        import fake_backend.sub.m
        assert sys.modules["pyNN.ann.sub.m"] is fake_backend.sub.m
        from pyNN.ann import a
        assert a is fake_backend.a
        assert importlib.import_module("pyNN.ann") is fake_backend   # get_simulator()
        importlib.reload(sim)                                        # real spec restored
        try:
            import pyNN.ann.does_not_exist
        except ModuleNotFoundError as err:
            assert err.name == "pyNN.ann.does_not_exist", err.name
        else:
            raise AssertionError("missing sub-module imported")
        pyNN_ann_hook.install()                                      # idempotent
        assert sum(getattr(f, "_pynn_ann_alias_finder", False) for f in sys.meta_path) == 1
        print("ok")
    """, tmp_path, extra_path=[tmp_path, _hook_dir()])
    assert _check(proc).stdout.strip().endswith("ok")


def test_hook_is_cheap(tmp_path):
    """Importing the hook (as site does at start-up) imports neither PyNN nor TF nor NumPy."""
    proc = _check(_run("""
        import sys
        import pyNN_ann_hook
        print(sorted(m for m in ("pyNN", "numpy", "tensorflow", "keras", "pyNN_ann")
                     if m in sys.modules))
    """, tmp_path, extra_path=[_hook_dir()]))
    assert proc.stdout.strip() == "[]"


# --- the installed distribution ------------------------------------------------------------

def test_pth_file_installed(tmp_path):
    dist = _distribution()
    if dist is None:
        pytest.skip(f"{DIST} is not installed (running from a source tree?)")
    files = [f for f in (dist.files or []) if str(f) == "pyNN_ann.pth"]
    assert files, f"pyNN_ann.pth is not in {DIST}'s RECORD"
    pth = dist.locate_file(files[0])
    assert os.path.isfile(pth), pth
    assert "pyNN_ann_hook" in open(pth).read()
    # it sits at the root of a site directory, so site.py processes it at start-up
    site_dirs = {os.path.realpath(p) for p in _site_dirs()}
    assert os.path.realpath(os.path.dirname(pth)) in site_dirs
    # and a fresh interpreter, started outside the source tree with no PYTHONPATH, has
    # the finder installed and resolves pyNN.ann without importing anything
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = _check(_run("""
        import sys
        print(any(getattr(f, "_pynn_ann_alias_finder", False) for f in sys.meta_path))
        import importlib.util
        print(importlib.util.find_spec("pyNN.ann") is not None)
    """, tmp_path, env=env))
    assert proc.stdout.split() == ["True", "True"], proc.stdout + proc.stderr


def test_installed_files_match_source_tree():
    """Every module and every shipped surrogate file of the checkout is installed
    (catches sub-packages without __init__.py and missing package data)."""
    source = os.path.join(REPO, "pyNN_ann")
    if not os.path.isdir(source):
        pytest.skip("no source tree next to the tests")
    missing_init = [os.path.relpath(d, REPO) for d, _, names in os.walk(source)
                    if "__pycache__" not in d and any(n.endswith(".py") for n in names)
                    and "__init__.py" not in names]
    assert not missing_init, f"directories with modules but no __init__.py: {missing_init}"
    dist = _distribution()
    if dist is None:
        pytest.skip(f"{DIST} is not installed")
    installed = {str(f).replace("\\", "/") for f in dist.files or []}
    if not any(name.startswith("pyNN_ann/") for name in installed):
        pytest.skip("editable install: modules are used from the source tree")
    expected = []
    for directory, dirs, names in os.walk(source):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        rel = os.path.relpath(directory, REPO).replace(os.sep, "/")
        for name in names:
            data = rel.startswith("pyNN_ann/surrogates/models")
            if (name.endswith(".py") or data) and not name.startswith(".") \
                    and not name.endswith((".pyc", ".pyo")):
                expected.append(f"{rel}/{name}")
    missing = sorted(set(expected) - installed)
    assert not missing, f"in the source tree but not installed: {missing}"


# --- the backend through the alias -----------------------------------------------------------

def _need_backend():
    if importlib.util.find_spec("pyNN_ann") is None:
        pytest.skip("pyNN_ann is not importable")
    if importlib.util.find_spec("tensorflow") is None and importlib.util.find_spec("jax") is None:
        pytest.skip("no Keras backend installed")


def test_pynn_ann_is_the_backend_and_quiet(tmp_path):
    """``import pyNN.ann`` and get_simulator('ann') give the pyNN_ann module itself, and
    importing it prints none of TensorFlow's start-up chatter."""
    _need_backend()
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent("""
        import sys
        if not any(getattr(f, "_pynn_ann_alias_finder", False) for f in sys.meta_path):
            import pyNN_ann_hook                   # not installed: activate by hand
        from pyNN.utility import get_simulator
        sim, options = get_simulator()
        import pyNN.ann, pyNN_ann
        assert sim is pyNN.ann is pyNN_ann, (sim, pyNN.ann, pyNN_ann)
        import pyNN.ann.simulator
        assert pyNN.ann.simulator is pyNN_ann.simulator is sys.modules["pyNN_ann.simulator"]
        print("ok", sim.__name__)
    """))
    env = dict(os.environ)
    env.pop("PYNN_ANN_VERBOSE", None)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    path = [_hook_dir()] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(path)
    proc = _check(subprocess.run([sys.executable, str(script), "ann"], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=300))
    assert proc.stdout.split() == ["ok", "pyNN_ann"]
    chatter = [line for line in proc.stderr.splitlines() if any(c in line for c in TF_CHATTER)]
    assert not chatter, proc.stderr


def _load_quiet_standalone():
    """pyNN_ann/quiet.py as code, without executing pyNN_ann/__init__.py."""
    spec = importlib.util.find_spec("pyNN_ann")
    if spec is not None and spec.submodule_search_locations:
        return os.path.join(list(spec.submodule_search_locations)[0], "quiet.py")
    return os.path.join(REPO, "pyNN_ann", "quiet.py")


@pytest.mark.parametrize("verbose", [False, True])
def test_quiet_tensorflow_import(tmp_path, verbose):
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow is not installed")
    quiet = _load_quiet_standalone()
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
    env["PYNN_ANN_VERBOSE"] = "1" if verbose else "0"
    proc = _check(_run(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("quiet", {quiet!r})
        quiet = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(quiet)
        import tensorflow as tf
        assert float(tf.reduce_sum(tf.ones(3))) == 3.0
        assert tf.__spec__.loader is tf.__loader__ and "Quiet" not in type(tf.__loader__).__name__
        print(quiet.VERBOSE)
    """, tmp_path, env=env))
    assert proc.stdout.strip() == str(verbose)
    if not verbose:
        assert proc.stderr == "", proc.stderr


def test_quiet_filter_keeps_real_errors():
    """Unknown native lines pass through; known chatter is dropped."""
    spec = importlib.util.spec_from_file_location("quiet_for_test", _load_quiet_standalone())
    quiet = importlib.util.module_from_spec(spec)
    saved_meta_path = list(sys.meta_path)
    try:
        spec.loader.exec_module(quiet)
    finally:
        sys.meta_path[:] = saved_meta_path      # don't leave the import filter behind
    assert quiet.is_harmless("WARNING: All log messages before absl::InitializeLog() is "
                             "called are written to STDERR")
    assert quiet.is_harmless("I0000 00:00:1795655911.786839    6102 port.cc:153] oneDNN "
                             "custom operations are on.")
    assert not quiet.is_harmless("E0000 00:00:1795655911.786839 6102 cuda_dnn.cc:1] "
                                 "Could not create cudnn handle: CUDNN_STATUS_INTERNAL_ERROR")
    assert not quiet.is_harmless("Traceback (most recent call last):")


# --- the command -----------------------------------------------------------------------------

def test_pynn_ann_command(tmp_path):
    _need_backend()
    exe = os.path.join(os.path.dirname(sys.executable), "pynn-ann")
    if not os.path.exists(exe):
        exe = shutil.which("pynn-ann")
    if exe is None or _distribution() is None:
        pytest.skip("the pynn-ann command is not installed")
    proc = _check(subprocess.run([exe, "--help"], cwd=tmp_path, capture_output=True,
                                 text=True, timeout=300))
    for command in ("train", "validate", "benchmark", "models", "setup-reference"):
        assert command in proc.stdout
    proc = _check(subprocess.run([exe, "models", "--json"], cwd=tmp_path, capture_output=True,
                                 text=True, timeout=300))
    assert isinstance(json.loads(proc.stdout), dict)
