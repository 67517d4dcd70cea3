"""Cells inside a network: VAbenchmarks COBA cells replayed open-loop with the input they
received in a pyNN.neuron network, against the same replay on CVODE (slow)."""

import pytest

from conftest import surrogate_available

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not surrogate_available("IF_membrane"),
                                 reason="no shipped IF surrogate")]


def test_coba_cells_follow_the_converged_reference_inside_the_network(tmp_path):
    pytest.importorskip("neuron")
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    from pyNN_ann.validation.network_replay import main
    ensure_neuron_mechanisms()
    results = main(["--network", "COBA", "--targets", "60", "--duration", "300",
                    "--simulators", "neuron-cvode,ann-dt0.1,neuron-dt0.1",
                    "--output", str(tmp_path)])
    for pop in ("E", "I"):
        ann, fixed = results[f"ann-dt0.1|{pop}"], results[f"neuron-dt0.1|{pop}"]
        closed = results[f"closed network|{pop}"]
        # the replay is faithful: the closed run's own spikes (dt 0.01) match CVODE's
        assert closed["gamma"] > 0.98, closed
        assert ann["rate_ref_hz"] > 5.0
        assert ann["gamma"] > 0.98, (pop, ann)
        assert ann["gamma"] >= fixed["gamma"] - 0.005, (pop, ann["gamma"], fixed["gamma"])
        assert abs(ann["rate_error_pct"]) < 3.0, ann
        assert abs(ann["timing_shift_ms"]) < 0.02, ann
        assert ann["vm_rmse_mv"] < 0.3, ann
    assert (tmp_path / "replay.md").exists() and (tmp_path / "replay.png").exists()
