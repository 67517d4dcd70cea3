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
