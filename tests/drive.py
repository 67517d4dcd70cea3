"""Poisson drive shared by the cell-type tests."""


def poisson_drive(sim, pop, rate, w_exc, w_inh):
    """One excitatory (``rate``) and one inhibitory (``rate / 4``) Poisson source per
    cell of ``pop``, one-to-one, delay 1 ms."""
    exc = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=rate))
    inh = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=rate / 4))
    sim.Projection(exc, pop, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=w_exc, delay=1.0), receptor_type="excitatory")
    sim.Projection(inh, pop, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=w_inh, delay=1.0), receptor_type="inhibitory")
