"""Random numbers for pyNN.ann."""

from pyNN.random import NumpyRNG

from . import simulator


class NativeRNG(NumpyRNG):
    """pyNN.ann's native generator: NumPy's, seeded from ``setup(rng_seed=...)`` when no
    seed is given, so a script's connectivity and parameters follow the simulation seed.
    (Poisson sources and noisy currents draw inside the engine from the same seed.)"""

    def __init__(self, seed=None, parallel_safe=True):
        super().__init__(seed=simulator.state.seed if seed is None else seed,
                         parallel_safe=parallel_safe)
