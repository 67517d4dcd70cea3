"""PointNeuron against pyNN.neuron: multi_synapse.py's AdExp cell with four alpha
receptors (AMPA, NMDA, GABAA, GABAB), each driven by fixed random spike trains, for
1 s. Reference: converged NEURON (CVODE rtol = atol = 1e-6), run in a subprocess;
pyNN.ann at dt = 0.1 ms. Slow.

Run as a script (``python tests/test_point_neuron_reference.py neuron out.json
[cvode]``) it writes one simulator's recordings as JSON.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

RECEPTORS = {"AMPA": (1.0, 0.0, 300.0, 0.012), "NMDA": (20.0, 0.0, 60.0, 0.003),
             "GABAA": (1.5, -70.0, 150.0, 0.01), "GABAB": (15.0, -90.0, 20.0, 0.004)}
DURATION = 1000.0


def build_and_run(sim, n=4, **setup):
    """n cells, cell i driven through each receptor at (i + 1) / n of its rate."""
    sim.setup(timestep=0.1, min_delay=1.0, **setup)
    celltype = sim.PointNeuron(sim.AdExp(tau_m=10.0, v_rest=-60.0), **{
        name: sim.AlphaPSR(tau_syn=tau, e_syn=e) for name, (tau, e, _, _) in RECEPTORS.items()})
    cells = sim.Population(n, celltype, initial_values={"v": -60.0})
    rng = np.random.default_rng(42)
    for name, (_, _, rate, weight) in RECEPTORS.items():
        trains = [np.unique(np.round(rng.uniform(1.0, DURATION - 5.0, rng.poisson(
            rate * (i + 1) / n * DURATION / 1000.0)), 1)) for i in range(n)]
        src = sim.Population(n, sim.SpikeSourceArray(
            spike_times=[sim.Sequence(t) for t in trains]))
        sim.Projection(src, cells, sim.FromListConnector([(i, i) for i in range(n)]),
                       sim.StaticSynapse(weight=weight, delay=1.0), receptor_type=name)
    cells.record(["spikes", "v", "w"] + [f"{r}.gsyn" for r in RECEPTORS])
    sim.run(DURATION)
    seg = cells.get_data().segments[0]
    grid = np.arange(0.0, DURATION + 0.05, 0.1)
    out = {s.name: np.asarray(s).tolist() for s in seg.analogsignals}
    for s in seg.irregularlysampledsignals:  # CVODE: onto the 0.1 ms grid
        t = np.asarray(s.times)
        out[s.name] = np.stack([np.interp(grid, t, np.asarray(s)[:, j])
                                for j in range(s.shape[1])], axis=1).tolist()
    out["spikes"] = [np.asarray(t).tolist() for t in seg.spiketrains]
    sim.end()
    return out


@pytest.mark.slow
def test_multi_synapse_adexp_against_converged_neuron(tmp_path):
    import pyNN.ann as sim
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    from pyNN_ann.validation.metrics import compare

    ensure_neuron_mechanisms()
    path = str(tmp_path / "neuron.json")
    subprocess.run([sys.executable, os.path.abspath(__file__), "neuron", path, "cvode"],
                   check=True, capture_output=True)
    with open(path) as f:
        ref = json.load(f)
    ann = build_and_run(sim)
    m = compare({"v": np.array(ref["v"]).T, "spikes": ref["spikes"]},
                {"v": np.array(ann["v"]).T, "spikes": ann["spikes"]}, 0.1, DURATION)
    m = m["aggregate"]
    assert m["rate_ref_hz"] > 10.0  # the input does make the cells fire
    # measured: gamma 0.98, rate error 0.0 %, Vm RMSE 0.89 mV (NEURON at dt 0.1: 0.59)
    assert m["gamma"] > 0.85, m
    assert abs(m["rate_error_pct"]) < 10.0, m
    assert m["vm_rmse_mv"] < 2.0, m
    for name in RECEPTORS:  # exact kernels: measured max error 0.15 % of the peak
        g_ref, g_ann = np.array(ref[f"{name}.gsyn"]), np.array(ann[f"{name}.gsyn"])
        assert np.abs(g_ann - g_ref).max() < 5e-3 * np.abs(g_ref).max(), name


if __name__ == "__main__":
    import importlib
    simulator = importlib.import_module("pyNN." + sys.argv[1])
    options = ({"use_cvode": True, "rtol": 1e-6, "atol": 1e-6}
               if sys.argv[3:] == ["cvode"] else {})
    with open(sys.argv[2], "w") as f:
        json.dump(build_and_run(simulator, **options), f)
