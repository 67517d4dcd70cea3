"""The network benchmark's drivers: one tiny run per network on pyNN.ann (no timing checks)."""

import math

import numpy as np
import pytest

from pyNN_ann.validation import benchmark, benchmark_networks
from pyNN_ann.validation.report import plot_run_times


def _args(network, **extra):
    args = dict(benchmark_networks.NETWORKS[network].defaults, network=network, dt=0.1,
                duration=50.0, recurrent=True, seed=7, options={})
    args.update(extra)
    return args


def test_networks_declare_defaults():
    for name, net in benchmark_networks.NETWORKS.items():
        assert net.name == name
        assert set(net.defaults) == {"input_rate", "input_weight", "p", "we", "wi", "delay"}
    coba = benchmark_networks.NETWORKS["coba"]
    assert coba.celltype == "IF_cond_exp"
    assert coba.cell_params["cm"] == 0.2 and coba.cell_params["tau_m"] == 20.0
    assert (coba.defaults["we"], coba.defaults["wi"]) == (0.004, 0.051)


def test_setup_options_are_explicit():
    assert benchmark.setup_options("neuron", 3) == {"use_cvode": False,
                                                    "native_rng_baseseed": 3}
    assert benchmark.setup_options("nest", 3)["rng_seed"] == 3
    assert benchmark.setup_options("ann", 3) == {"rng_seed": 3}


def test_coba_child_run_on_ann(tmp_path):
    from pyNN_ann.surrogates import registry
    if "IF_membrane" not in registry.available():
        pytest.skip("no shipped IF_membrane surrogate")
    res = benchmark.run_child("ann", 50, _args("coba", warmup=10.0))
    assert res["error"] is None
    assert res["simulator"] == "ann" and res["network"] == "coba" and res["n"] == 50
    for key in ("build_s", "run_s", "run_cpu_s", "wall_per_sim_s", "neuron_steps_per_s",
                "ns_per_neuron_step", "peak_rss_mb", "mean_rate_hz", "synapses"):
        assert key in res, key
    assert res["run_s"] > 0 and res["build_s"] > 0 and res["warmup_s"] > 0
    assert res["neuron_steps_per_s"] > 0 and res["ns_per_neuron_step"] > 0
    assert res["peak_rss_mb"] > 0
    assert math.isfinite(res["mean_rate_hz"]) and res["mean_rate_hz"] >= 0
    assert res["synapses"] >= 50  # the one-to-one drive at least
    assert res["setup_options"]["rng_seed"] == 7

    # the report side: table, ratio and plot from these results
    res["label"] = "ann"
    results = [res, {"simulator": "neuron", "label": "neuron", "n": 50, "error": "boom"}]
    benchmark._add_ratios(results)
    assert res["run_ratio_vs_ann"] == pytest.approx(1.0)
    table = benchmark.markdown(results)
    assert "| ann | 50 |" in table and "failed: boom" in table
    plot_run_times(results, str(tmp_path / "run_time.png"))
    assert (tmp_path / "run_time.png").stat().st_size > 0


def test_main_parser_network_defaults():
    p = benchmark._parser("x", "coba")
    a = p.parse_args([])
    assert a.network == "coba" and a.delay is None
    a = p.parse_args(["--network", "cobahh", "--we", "0.01"])
    assert a.network == "cobahh" and a.we == 0.01


def test_statistics_over_seeds_pair_each_run_with_its_seeds_reference():
    """--seeds: each tested run is compared with the reference of its own seed, and the
    reference of the next seed gives that seed's baseline (the repeat run, for the last)."""
    from pyNN_ann.validation.compare import seed_summary

    def trains(rate, seed):
        rng = np.random.default_rng(seed)
        return [np.sort(rng.uniform(0, 1000.0, rng.poisson(rate))) for _ in range(40)]

    def run(sim, label, seed, rate):
        timing = {key: 1.0 for key, _, _ in benchmark.COLS}
        return {"simulator": sim, "label": label, "n": 40, "seed": seed,
                "spikes": trains(rate, seed * 10 + len(label)), "error": None,
                **timing, "synapses": 40}

    results = [run("ann", "ann", 1, 30), run("neuron", "neuron", 1, 10),
               run("ann", "ann", 2, 30), run("neuron", "neuron", 2, 10),
               run("neuron", "neuron-seed2", 3, 10)]
    per_seed = benchmark.add_statistics(results, 1000.0)
    assert [len(rows) for rows in per_seed] == [1, 1]
    for rows in per_seed:
        (row,) = rows
        assert row["population"] == "ann N=40"
        assert row["rate_test"] == pytest.approx(30, rel=0.3)
        assert row["rate_ref"] == pytest.approx(10, rel=0.3)
        # 30 Hz against 10 Hz: far apart; the reference against itself: close
        assert row["kl_rate"] > 5 * row["kl_rate_baseline"]
    # the reference of seed 2 is the baseline of seed 1, compared with seed 1's
    assert results[3]["kl_vs_neuron"]["rate"] == pytest.approx(per_seed[0][0]["kl_rate_baseline"])
    assert results[4]["kl_vs_neuron"]["rate"] == pytest.approx(per_seed[1][0]["kl_rate_baseline"])
    assert "kl_vs_neuron" not in results[1]
    text = "\n".join(seed_summary(per_seed, [1, 2]))
    assert "| 1 | ann N=40 |" in text and "| 2 | ann N=40 |" in text
    assert "0 of 2 / " in text  # the rate KL exceeds its baseline in both seeds
    table = benchmark.markdown(results, seeds=True)
    assert "| ann | 40 | 2 |" in table.replace("  ", " ")
