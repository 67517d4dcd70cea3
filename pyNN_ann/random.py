"""Random numbers for pyNN.ann."""

from pyNN.random import NumpyRNG

from . import simulator
from .engine.network import DEFAULT_SEED


class NativeRNG(NumpyRNG):
    """pyNN.ann's native generator: NumPy's, seeded from ``setup(rng_seed=...)`` when no
    seed is given, so a script's connectivity and parameters follow the simulation seed.
    (Poisson sources and noisy currents draw inside the engine from the same seed.)"""

    def __init__(self, seed=None, parallel_safe=True):
        if seed is None:
            seed = simulator.state.seed if simulator.state.seed is not None else DEFAULT_SEED
        super().__init__(seed=seed, parallel_safe=parallel_safe)
