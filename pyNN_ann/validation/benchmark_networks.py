"""The benchmark's networks: each a cell type, its parameters and default connectivity.

Every network is N cells, each driven by its own ``SpikeSourcePoisson`` (one-to-one,
excitatory), with optional recurrent 80/20 E/I ``FixedProbabilityConnector``
projections. :func:`build` creates one on any PyNN backend module.

The benchmark's child processes import this file as a plain module (not through the
``pyNN_ann`` package), so it imports nothing from pyNN_ann (nor TensorFlow).
"""

from dataclasses import dataclass, field

# COBAHH (Brette et al. 2007, benchmark 3): HH_cond_exp
COBAHH_CELL = {"gbar_Na": 20.0, "gbar_K": 6.0, "g_leak": 0.01, "cm": 0.2, "v_offset": -63.0,
               "e_rev_Na": 50.0, "e_rev_K": -90.0, "e_rev_leak": -60.0, "e_rev_E": 0.0,
               "e_rev_I": -80.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "i_offset": 0.0}

# COBA (Brette et al. 2007, benchmark 1; PyNN's examples/VAbenchmarks.py): IF_cond_exp,
# 20000 um2 at 1 uF/cm2 -> cm 0.2 nF; g_leak 5e-5 S/cm2 -> tau_m 20 ms
COBA_CELL = {"cm": 0.2, "tau_m": 20.0, "v_rest": -60.0, "v_reset": -60.0, "v_thresh": -50.0,
             "tau_refrac": 5.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "e_rev_E": 0.0,
             "e_rev_I": -80.0, "i_offset": 0.0}


@dataclass(frozen=True)
class Network:
    """A benchmark network: cell type and parameters, initial Vm range, default options."""
    name: str
    title: str
    celltype: str
    cell_params: dict
    v_init: tuple                         # uniform initial Vm (mV)
    defaults: dict = field(default_factory=dict)  # input_rate, input_weight, p, we, wi, delay
    notes: str = ""


NETWORKS = {
    "cobahh": Network(
        "cobahh", "HH network (COBAHH)", "HH_cond_exp", COBAHH_CELL, (-70.0, -60.0),
        {"input_rate": 1000.0, "input_weight": 0.0005, "p": 0.02, "we": 0.006, "wi": 0.067,
         "delay": 1.0},
        "COBAHH cell parameters (Brette et al. 2007)"),
    "coba": Network(
        "coba", "IF network (COBA)", "IF_cond_exp", COBA_CELL, (-60.0, -50.0),
        # drive 1000 Hz x 0.4 nS per cell: mean 2 nS (0.2 g_leak), which on its own holds
        # the free Vm at threshold; the recurrent activity then sustains itself. On
        # pyNN.neuron: asynchronous-irregular 16-30 Hz (CV ISI ~1) for N = 1000-4000;
        # N <= 500 (4-8 E inputs per cell) fires more regularly at 30-45 Hz. Table in
        # docs/benchmarks/coba/README.md
        {"input_rate": 1000.0, "input_weight": 0.0004, "p": 0.02, "we": 0.004, "wi": 0.051,
         "delay": 0.2},
        "COBA cell, weight and delay parameters (Brette et al. 2007; PyNN's "
        "examples/VAbenchmarks.py)"),
}


def build(sim, network, n, args, rng):
    """Create ``network`` with ``n`` cells on backend ``sim``; returns (cells, synapses).

    ``args``: input_rate (Hz; 0 = no drive), input_weight (uS), recurrent (bool), p,
    we, wi (uS), delay (ms). ``rng``: a pyNN NumpyRNG for Vm and connectivity."""
    from pyNN.random import RandomDistribution
    net = NETWORKS[network] if isinstance(network, str) else network
    cells = sim.Population(n, getattr(sim, net.celltype)(**net.cell_params), label=net.name)
    cells.initialize(v=RandomDistribution("uniform", net.v_init, rng=rng))
    n_syn = 0
    if args["input_rate"] > 0:
        drive = sim.Population(n, sim.SpikeSourcePoisson(rate=args["input_rate"]),
                               label="drive")
        sim.Projection(drive, cells, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=args["input_weight"], delay=args["delay"]),
                       receptor_type="excitatory")
        n_syn += n
    if args["recurrent"]:
        n_exc = int(round(0.8 * n))
        for pre, w, receptor in ((cells[:n_exc], args["we"], "excitatory"),
                                 (cells[n_exc:], args["wi"], "inhibitory")):
            prj = sim.Projection(pre, cells, sim.FixedProbabilityConnector(args["p"], rng=rng),
                                 sim.StaticSynapse(weight=w, delay=args["delay"]),
                                 receptor_type=receptor)
            n_syn += prj.size()
    return cells, n_syn
