"""
Simulation control for the pyNN.ann backend (setup, run, reset, end, state queries).
"""

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.errors import InvalidParameterValueError
from pyNN.recording import get_io

from . import simulator
from .engine.network import SPIKE_PRECISIONS


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """
    Start a new simulation, discarding any existing network.

    `timestep`, `min_delay` and `max_delay` are in ms. Extra keyword arguments:
    `rng_seed` (or `seed`) seeds the engine's random numbers (Poisson sources; a fixed
    default seed makes runs reproducible, as in NEST); `progress` (default True, or
    the environment variable ``PYNN_ANN_PROGRESS=0``) shows a progress bar during
    run() calls expected to last more than a couple of seconds; `spike_precision`
    (as in pyNN.nest): "off_grid" (default) gives spikes the time of the threshold
    crossing within the step (Poisson sources a time within it, arrays their given
    times) and delivers them at that time plus the delay, "on_grid" puts every spike
    at the end of its step, as NEURON's and NEST's fixed-step models do;
    arguments meant for other backends are accepted and ignored.
    """
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    common.setup(timestep, min_delay, **extra_params)
    seed = extra_params.get("rng_seed", extra_params.get("seed"))
    progress = extra_params.get("progress", simulator.progress_default())
    precision = extra_params.get("spike_precision", "off_grid")
    if precision not in SPIKE_PRECISIONS:
        raise InvalidParameterValueError(
            f"spike_precision={precision!r}: pyNN.ann takes one of {SPIKE_PRECISIONS}")
    simulator.state.setup(timestep, min_delay, max_delay, seed, progress=bool(progress),
                          spike_precision=precision)
    return rank()


def end(compatible_output=True):
    """Write any data requested with record(..., to_file=...) and finish."""
    for (population, variables, filename) in simulator.state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    simulator.state.write_on_end = []


run, run_until = common.build_run(simulator)
run_for = run

reset = common.build_reset(simulator)

initialize = common.initialize

get_current_time, get_time_step, get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)
