"""`pynn-ann compare`: one unmodified script on pyNN.ann and pyNN.neuron."""

import os

import numpy as np
import pytest

from pyNN_ann.surrogates import registry

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "HH_network.py")
pytestmark = pytest.mark.skipif("HH_cond_exp" not in registry.available(),
                                reason="no shipped HH_cond_exp surrogate")


def test_capture_records_every_population(tmp_path):
    from pyNN_ann.validation.compare import capture
    data = capture("ann", EXAMPLE, ["--n", "50", "--duration", "200", "--plot-figure",
                                    str(tmp_path / "fig.png")])
    labels = [p["label"] for p in data["populations"]]
    assert "excitatory" in labels and "inhibitory" in labels
    exc = data["populations"][labels.index("excitatory")]
    assert exc["size"] == 40 and len(exc["spikes"]) == 40
    assert exc["t_stop"] == pytest.approx(200.0)
    assert sum(len(s) for s in exc["spikes"]) > 0


@pytest.mark.slow
def test_compare_demo_network_with_neuron(tmp_path):
    from pyNN_ann.validation.compare import main
    rows = main(["--output", str(tmp_path), EXAMPLE, "--", "--n", "200", "--duration", "500",
                 "--plot-figure", str(tmp_path / "fig.png")])
    assert {r["population"] for r in rows} == {"excitatory", "inhibitory"}
    for r in rows:
        assert r["rate_ref"] > 5.0
        assert abs(r["rate_test"] - r["rate_ref"]) / r["rate_ref"] < 0.25, r
        assert np.isfinite(r["kl_rate"])
    assert (tmp_path / "compare.md").exists() and (tmp_path / "distributions.png").exists()
