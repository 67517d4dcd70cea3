"""Shared fixtures for the pyNN.ann test-suite."""

import os

import pytest

def surrogate_available(celltype):
    """True if pyNN.ann ships a trained surrogate for `celltype`.

    Setting PYNN_ANN_ASSUME_SURROGATES=1 forces True (for developing the adapter
    against a stand-in engine).
    """
    if os.environ.get("PYNN_ANN_ASSUME_SURROGATES") == "1":
        return True
    from pyNN_ann.surrogates import registry
    return celltype in registry.available()


@pytest.fixture
def sim():
    """The pyNN.ann module, freshly set up with dt = 0.1 ms."""
    import pyNN_ann
    pyNN_ann.setup(timestep=0.1)
    yield pyNN_ann
    pyNN_ann.end()


@pytest.fixture
def hh_sim(sim):
    """Like `sim`, but skips the test while no HH_cond_exp surrogate is shipped."""
    if not surrogate_available("HH_cond_exp"):
        pytest.skip("no shipped HH_cond_exp surrogate (pyNN_ann/surrogates/models/HH_cond_exp)")
    return sim


@pytest.fixture
def if_only_at_0025(tmp_path, monkeypatch):
    """A private models directory with every shipped surrogate except the 0.025-ms
    ones of the families other than IF_membrane: a time step shipped for one family
    only, as users meet it whenever a family lacks a step."""
    import shutil

    from pyNN_ann.surrogates import registry
    for name in registry.shipped():
        if name.endswith("_dt0.025") and not name.startswith("IF_membrane"):
            continue
        shutil.copytree(os.path.join(registry.MODELS_DIR, name), tmp_path / name)
    monkeypatch.setattr(registry, "MODELS_DIR", str(tmp_path))
    registry.load.cache_clear()
    yield tmp_path
    registry.load.cache_clear()
