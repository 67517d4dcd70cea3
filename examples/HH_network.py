"""
A sparsely connected network of Hodgkin-Huxley neurons driven by Poisson input.

The cells are PyNN's ``HH_cond_exp`` with the parameters of the COBAHH benchmark
(Brette et al. 2007, J. Comput. Neurosci. 23:349): 80 % excitatory, 20 % inhibitory,
random connectivity with probability 0.02, conductance-based exponential synapses
(tau 5 / 10 ms, reversal 0 / -80 mV, 67 nS inhibitory), leak reversal -60 mV.  Every
cell also receives its own Poisson spike train.  With COBAHH's 6 nS excitatory weight a
network of a few hundred cells splits into silent cells and cells locked in tonic
firing above 100 Hz; with 2 nS (the default here) it fires irregularly at about 20 Hz.

The same script runs on any PyNN backend:

    python examples/HH_network.py ann        # pyNN.ann: surrogate neurons
    python examples/HH_network.py neuron     # pyNN.neuron, for comparison

It prints the mean firing rates and the time taken, and writes a figure (spike
rasters and membrane potentials of a few cells) to HH_network_<simulator>.png, or
to the path given with --plot-figure.
"""

import time

from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.utility import get_simulator

# "--option" arguments are (name, help, argparse keyword arguments)
sim, options = get_simulator(
    ("--n", "number of neurons (default 400)", {"type": int, "default": 400}),
    ("--duration", "simulated time in ms (default 1000)", {"type": float, "default": 1000.0}),
    ("--dt", "time step in ms (default 0.1)", {"type": float, "default": 0.1}),
    ("--p", "connection probability (default 0.02)", {"type": float, "default": 0.02}),
    ("--w-exc", "excitatory weight in uS (default 0.002; COBAHH: 0.006)",
     {"type": float, "default": 0.002}),
    ("--w-inh", "inhibitory weight in uS (default 0.067, as COBAHH)",
     {"type": float, "default": 0.067}),
    ("--input-rate", "rate of each cell's Poisson drive in Hz (default 100)",
     {"type": float, "default": 100.0}),
    ("--input-weight", "weight of the Poisson drive in uS (default 0.002)",
     {"type": float, "default": 0.002}),
    ("--seed", "random seed (default 4242)", {"type": int, "default": 4242}),
    ("--plot-figure", "where to save the figure (default HH_network_<simulator>.png); "
                      "'none' for no figure", {"default": None}),
)

# --- parameters --------------------------------------------------------------

n_exc = int(round(0.8 * options.n))
n_inh = options.n - n_exc
delay = 1.0              # ms, all synapses
w_exc = options.w_exc    # uS
w_inh = options.w_inh    # uS

cell_parameters = {      # COBAHH (Brette et al. 2007); the others are PyNN's defaults
    "cm": 0.2,           # nF   (membrane area 20 000 um2, 1 uF/cm2)
    "g_leak": 0.01,      # uS
    "gbar_Na": 20.0,     # uS
    "gbar_K": 6.0,       # uS
    "v_offset": -63.0,   # mV
    "e_rev_leak": -60.0,
    "e_rev_Na": 50.0,
    "e_rev_K": -90.0,
    "e_rev_E": 0.0,
    "e_rev_I": -80.0,
    "tau_syn_E": 5.0,    # ms
    "tau_syn_I": 10.0,   # ms
}

# --- network -----------------------------------------------------------------

t_start = time.perf_counter()
sim.setup(timestep=options.dt, min_delay=delay)
rng = NumpyRNG(seed=options.seed)

exc = sim.Population(n_exc, sim.HH_cond_exp(**cell_parameters), label="excitatory")
inh = sim.Population(n_inh, sim.HH_cond_exp(**cell_parameters), label="inhibitory")
for population in (exc, inh):
    population.initialize(v=RandomDistribution("uniform", (-70.0, -60.0), rng=rng))

connector = sim.FixedProbabilityConnector(options.p, rng=rng)
projections = []
for pre, weight, receptor in ((exc, w_exc, "excitatory"), (inh, w_inh, "inhibitory")):
    for post in (exc, inh):
        projections.append(sim.Projection(
            pre, post, connector, sim.StaticSynapse(weight=weight, delay=delay),
            receptor_type=receptor, label=f"{pre.label} -> {post.label}"))

# one Poisson source per cell (a single population: independent spike trains)
drive = sim.Population(options.n, sim.SpikeSourcePoisson(rate=options.input_rate),
                       label="drive")
for sources, post in ((drive[:n_exc], exc), (drive[n_exc:], inh)):
    projections.append(sim.Projection(
        sources, post, sim.OneToOneConnector(),
        sim.StaticSynapse(weight=options.input_weight, delay=delay),
        receptor_type="excitatory", label=f"drive -> {post.label}"))

exc.record("spikes")
inh.record("spikes")
exc[:3].record("v")
inh[:2].record("v")
t_build = time.perf_counter() - t_start

# --- run ---------------------------------------------------------------------

t_start = time.perf_counter()
sim.run(options.duration)
t_run = time.perf_counter() - t_start

exc_data = exc.get_data().segments[0]
inh_data = inh.get_data().segments[0]


def mean_rate(segment, size):
    """Mean firing rate (Hz) over the population."""
    n_spikes = sum(len(train) for train in segment.spiketrains)
    return n_spikes / size / (options.duration / 1000.0)


n_synapses = sum(prj.size() for prj in projections)
simulator_name = options.simulator
print(f"{simulator_name}: {options.n} HH_cond_exp cells ({n_exc} E, {n_inh} I), "
      f"{n_synapses} synapses, {options.duration:g} ms at dt = {options.dt:g} ms")
print(f"mean rate: excitatory {mean_rate(exc_data, n_exc):.2f} Hz, "
      f"inhibitory {mean_rate(inh_data, n_inh):.2f} Hz")
print(f"time: build {t_build:.2f} s, run {t_run:.2f} s")

# --- figure ------------------------------------------------------------------

figure_path = options.plot_figure or f"HH_network_{simulator_name}.png"
if figure_path.lower() != "none":
    import matplotlib
    matplotlib.use("Agg")
    from pyNN.utility.plotting import Figure, Panel

    def first_signal(segment):
        return next(sig for sig in segment.analogsignals if sig.name == "v")

    Figure(
        Panel(exc_data.spiketrains, data_labels=["excitatory"], yticks=True,
              markersize=0.5, xlim=(0, options.duration)),
        Panel(inh_data.spiketrains, data_labels=["inhibitory"], yticks=True,
              markersize=0.5, xlim=(0, options.duration)),
        Panel(first_signal(exc_data), ylabel="Vm (mV)\nexcitatory", yticks=True,
              xlim=(0, options.duration)),
        Panel(first_signal(inh_data), ylabel="Vm (mV)\ninhibitory", yticks=True,
              xlabel="Time (ms)", xticks=True, xlim=(0, options.duration)),
        title=f"HH_cond_exp network, {options.n} cells ({simulator_name})",
        annotations=f"Simulated with pyNN.{simulator_name}; mean rate "
                    f"E {mean_rate(exc_data, n_exc):.1f} Hz, I {mean_rate(inh_data, n_inh):.1f} Hz",
    ).save(figure_path)
    print(f"figure: {figure_path}")

sim.end()
