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


def test_reseed_shifts_script_seeds_and_setup_options(tmp_path):
    """--reseed gives a statistically equivalent run of a script with hard-coded seeds;
    --setup-option overrides what the script passes to setup()."""
    from pyNN_ann.validation.compare import capture
    script = tmp_path / "seeded.py"
    script.write_text(
        "import sys\n"
        "import numpy as np\n"
        "import importlib\n"
        "from pyNN.random import NumpyRNG\n"
        "sim = importlib.import_module('pyNN.' + sys.argv[1])\n"
        "sim.setup(timestep=0.1, min_delay=0.5)\n"
        "rng = NumpyRNG(seed=42)\n"
        "p = sim.Population(20, sim.SpikeSourceArray(\n"
        "    spike_times=[[1.0 + 50 * rng.uniform(0, 1)] for _ in range(20)]), label='src')\n"
        "p.record('spikes')\n"
        "sim.run(60.0)\n"
        "assert sim.get_min_delay() == float(sys.argv[2])\n"
        "sim.end()\n")
    first = lambda d: [float(s[0]) for s in d["populations"][0]["spikes"]]  # noqa: E731
    a = capture("ann", str(script), ["0.5"])
    b = capture("ann", str(script), ["0.5"])
    c = capture("ann", str(script), ["1.0"], reseed=7, setup_options=["min_delay=1.0"])
    assert first(a) == first(b)
    assert first(a) != first(c)


def test_capture_takes_a_script_path_relative_to_the_callers_directory(tmp_path, monkeypatch):
    """`pynn-ann compare examples/HH_network.py` from the project root: the script runs
    in its own directory, so the path is resolved before (it used to be resolved twice)."""
    from pyNN_ann.validation.compare import capture
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "tiny.py").write_text(
        "import sys, importlib\n"
        "sim = importlib.import_module('pyNN.' + sys.argv[1])\n"
        "sim.setup(timestep=0.1)\n"
        "p = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [2.0]]), label='s')\n"
        "p.record('spikes')\n"
        "sim.run(5.0)\n"
        "sim.end()\n")
    monkeypatch.chdir(tmp_path)
    data = capture("ann", "scripts/tiny.py", [])
    assert [list(map(float, t)) for t in data["populations"][0]["spikes"]] == [[1.0], [2.0]]


ALPHA_OVERFLOW_SCRIPT = """
import sys
import numpy as np
from pyNN.utility import get_simulator
sim, options = get_simulator()
sim.setup(timestep=0.1)
cell = sim.Population(1, sim.IF_curr_alpha(tau_syn_E=5.0), label="cell")
source = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(1, 2001) * 0.05))
sim.Projection(source, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=1e-4, delay=1.0))
cell.record("spikes")
sim.run(150.0)
sim.end()
"""


def test_compare_warns_when_neuron_drops_alpha_synapse_input(tmp_path):
    """pyNN.neuron's alpha synapses silently drop input beyond 1000 spikes within
    20 tau_syn (2000 spikes in 100 ms here): a network reference run that does so is
    flagged, not compared as if it were right."""
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    from pyNN_ann.validation.compare import capture
    ensure_neuron_mechanisms()
    script = tmp_path / "overflow.py"
    script.write_text(ALPHA_OVERFLOW_SCRIPT)
    with pytest.warns(RuntimeWarning, match="dropped input spikes"):
        data = capture("neuron", str(script), [])
    assert [p["label"] for p in data["populations"]] == ["cell"]


def test_seed_summary_averages_and_counts_seeds():
    from pyNN_ann.validation.compare import seed_summary

    def row(kl, base):
        return {"population": "E", "rate_test": 10.0, "rate_ref": 10.0,
                **{f"kl_{k}": v for k, v in zip(("rate", "cv", "correlation"), kl)},
                **{f"kl_{k}_baseline": v for k, v in zip(("rate", "cv", "correlation"), base)}}

    per_seed = [[row((0.1, 0.2, 0.3), (0.2, 0.1, 0.3))],
                [row((0.3, 0.2, 0.5), (0.2, 0.3, 0.1))]]
    per_seed[0][0].update(cv_test=1.25, cv_ref=1.5, correlation_test=0.01)
    lines = seed_summary(per_seed)
    assert "## Over 2 seeds" in lines
    first = [line for line in lines if line.startswith("| 0 | E |")][0]
    assert "| 1.25 (1.5) | 0.01 (–) |" in first  # mean CV and correlation (reference)
    mean_row = [line for line in lines if line.startswith("| E |")][0]
    assert "0.2 (0.2)" in mean_row and "0.4 (0.2)" in mean_row  # rate, corr means
    assert mean_row.endswith("| 1 of 2 / 1 of 2 / 1 of 2 |")  # ties count as met


def test_compare_cache_reuses_identical_runs(tmp_path, monkeypatch):
    from pyNN_ann.validation import compare
    calls = []
    monkeypatch.setattr(compare, "capture",
                        lambda *a, **kw: calls.append((a, kw)) or {"run": len(calls)})
    script = tmp_path / "net.py"
    script.write_text("print('hello')\n")
    first = compare.cached_capture(str(tmp_path / "c"), "ann", str(script), ["A"])
    again = compare.cached_capture(str(tmp_path / "c"), "ann", str(script), ["A"])
    other = compare.cached_capture(str(tmp_path / "c"), "ann", str(script), ["A"],
                                   setup_options=["spike_precision=on_grid"])
    assert first == again == {"run": 1} and other == {"run": 2} and len(calls) == 2
    script.write_text("print('changed')\n")  # the script's text is part of the key
    assert compare.cached_capture(str(tmp_path / "c"), "ann", str(script), ["A"]) == {"run": 3}
    # so is the code: a capture made by another pyNN.ann (or NEURON) is not reused
    monkeypatch.setattr(compare, "code_version", lambda simulator: ("other",))
    assert compare.cached_capture(str(tmp_path / "c"), "ann", str(script), ["A"]) == {"run": 4}


def test_code_version_follows_the_package_sources(tmp_path, monkeypatch):
    from pyNN_ann.validation import compare
    ann, neuron = compare.code_version("ann"), compare.code_version("neuron")
    assert ann == compare.code_version("ann") and len(ann[-1]) == 40
    assert neuron[0] == ann[0]  # the PyNN version
    package = tmp_path / "validation"
    package.mkdir()
    (tmp_path / "module.py").write_text("x = 1\n")
    monkeypatch.setattr(compare, "__file__", str(package / "compare.py"))
    before = compare.code_version("ann")
    (tmp_path / "module.py").write_text("x = 2\n")
    assert compare.code_version("ann") != before
