"""
Firing rate against injected current (f-I curve) of one PyNN cell type.

A population of identical cells, each with its own constant ``i_offset``, runs for a
while; the script prints each cell's spike count and first-spike latency, and, for
IF_curr_exp and IF_cond_exp at PyNN's default parameters, the counts and latencies of
the closed-form solution of the leaky integrate-and-fire equation. The same script runs
on any PyNN backend:

    python examples/fi_curve.py ann --celltype IF_curr_exp
    python examples/fi_curve.py neuron --celltype IF_curr_exp --cvode

``--cvode`` runs pyNN.neuron with CVODE (rtol = atol = 1e-6) and second-order threshold
detection (``CVode.condition_order(2)``): with PyNN's default first-order detection a
DC-driven cell's spikes are found only at the end of CVODE's (long) steps, up to 1 ms
late (docs/results.md, "DC-driven cells"). ``--save FILE.npz`` stores the counts,
``--plot-figure FILE.png`` draws the curve.
"""

import numpy as np
from pyNN.utility import get_simulator

sim, options = get_simulator(
    ("--celltype", "PyNN cell type (default IF_curr_exp)", {"default": "IF_curr_exp"}),
    ("--amplitudes", "lowest and highest i_offset (nA) and how many (default 0 3 31)",
     {"nargs": 3, "type": float, "default": [0.0, 3.0, 31]}),
    ("--duration", "simulated time in ms (default 1000)", {"type": float, "default": 1000.0}),
    ("--dt", "time step in ms (default 0.1)", {"type": float, "default": 0.1}),
    ("--cvode", "pyNN.neuron only: CVODE with second-order threshold detection",
     {"action": "store_true"}),
    ("--save", "store amplitudes, counts and latencies in this .npz file", {}),
    ("--plot-figure", "draw the f-I curve into this file", {}),
)

extra = {"use_cvode": True, "rtol": 1e-6, "atol": 1e-6} if options.cvode else {}
sim.setup(timestep=options.dt, **extra)
if options.cvode:
    from neuron import h
    h.CVode().condition_order(2)

low, high, n = options.amplitudes
amplitudes = np.linspace(low, high, int(n))
celltype = getattr(sim, options.celltype)
cells = sim.Population(len(amplitudes), celltype(i_offset=amplitudes))
cells.record("spikes")
sim.run(options.duration)
trains = [np.asarray(st.rescale("ms").magnitude)
          for st in cells.get_data().segments[0].spiketrains]
sim.end()

counts = np.array([len(t) for t in trains])
latency = np.array([t[0] if len(t) else np.nan for t in trains])


def lif_closed_form(i_offset, duration, cm=1.0, tau_m=20.0, v_rest=-65.0, v_reset=-65.0,
                    v_thresh=-50.0, tau_refrac=0.1):
    """Spike count and first-spike time of a DC-driven LIF cell starting at v_rest."""
    drive = i_offset * tau_m / cm  # mV above rest at steady state
    if drive <= v_thresh - v_rest:
        return 0, np.nan
    first = tau_m * np.log(drive / (drive - (v_thresh - v_rest)))
    period = tau_refrac + tau_m * np.log((drive - (v_reset - v_rest))
                                         / (drive - (v_thresh - v_rest)))
    return int(np.floor((duration - first) / period)) + 1, first


exact = None
if options.celltype in ("IF_curr_exp", "IF_cond_exp"):
    exact = [lif_closed_form(i, options.duration) for i in amplitudes]

print(f"{options.celltype} on {sim.__name__}, {options.duration:g} ms, dt {options.dt:g} ms"
      + (" (CVODE)" if options.cvode else ""))
print("i_offset (nA)  spikes  first spike (ms)" + ("   closed form: spikes, first" if exact else ""))
for k, amp in enumerate(amplitudes):
    line = f"{amp:13.3f}  {counts[k]:6d}  {latency[k]:16.3f}"
    if exact:
        line += f"   {exact[k][0]:6d}  {exact[k][1]:8.3f}"
    print(line)

if options.save:
    np.savez(options.save, amplitudes=amplitudes, counts=counts, latency=latency)
if options.plot_figure:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(amplitudes, counts / options.duration * 1000.0, "o-", label=sim.__name__)
    if exact:
        ax.plot(amplitudes, [c / options.duration * 1000.0 for c, _ in exact], "k--",
                label="closed form")
    ax.set_xlabel("i_offset (nA)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title(options.celltype)
    ax.legend()
    fig.tight_layout()
    fig.savefig(options.plot_figure)
