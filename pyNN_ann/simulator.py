"""
Low-level state of the pyNN.ann backend, used by the common PyNN implementation.

``state`` holds the one :class:`pyNN_ann.engine.Engine` of the current simulation
(created by ``setup()``), the time step, the delay limits, the recorders and the
segment counter.
"""

import os

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP

from .engine import Engine
from .host_sources import HostSources
from .surrogates import registry

name = "pyNN.ann"


class ID(int, common.IDMixin):
    """A cell identifier (an integer that knows its parent Population)."""

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


def progress_default():
    """Progress bars unless the environment says ``PYNN_ANN_PROGRESS=0`` (or false/no/off)."""
    return os.environ.get("PYNN_ANN_PROGRESS", "1").strip().lower() not in (
        "0", "false", "no", "off")


class State(common.control.BaseState):
    """Simulation state: the engine, the host-drawn sources, dt, delays, recorders,
    segment counter.

    ``dt`` is the time step the script asked for (delays, recording, ``run()`` are on
    its grid); ``engine_dt`` is the step the surrogates advance by, normally a divisor
    of ``dt`` (see :func:`pyNN_ann.surrogates.registry.engine_timestep`). Where no
    surrogate step divides ``dt`` the engine runs on its own grid, as close to the
    script's time as it can be, and signals are interpolated onto the script's grid."""

    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = DEFAULT_TIMESTEP
        self.engine_dt = DEFAULT_TIMESTEP
        self.seed = None
        self.progress = progress_default()
        self.spike_precision = "off_grid"
        self._min_delay = DEFAULT_MIN_DELAY
        self.max_delay = DEFAULT_MAX_DELAY
        self._engine = None
        self.clear()

    def setup(self, timestep, min_delay, max_delay, seed, progress=True,
              spike_precision="off_grid"):
        """Start a new simulation: discard the network and create a fresh engine."""
        self.progress = progress
        self.spike_precision = spike_precision
        self.dt = float(timestep)
        self.engine_dt = registry.engine_timestep(self.dt)
        if self.off_grid:
            registry._warn_user(
                f"no surrogate is trained at timestep {self.dt:g} ms nor at a divisor of it: "
                f"pyNN.ann advances the cells by {self.engine_dt:g} ms (surrogates trained "
                "against a converged reference, docs/results.md) and interpolates recorded "
                f"signals onto the {self.dt:g}-ms grid; delays resolve to "
                f"{self.engine_dt:g} ms. Shipped steps: `pynn-ann models`.")
        self._min_delay = min_delay
        self.max_delay = max_delay
        self.seed = seed
        self.clear()

    @property
    def off_grid(self):
        """Whether the engine step does not divide the script's time step."""
        return registry.off_grid(self.dt, self.engine_dt)

    @property
    def engine(self):
        """The engine of this simulation, created on first use."""
        if self._engine is None:
            self._engine = Engine(dt=self.engine_dt, seed=self.seed, progress=self.progress,
                                  spike_precision=self.spike_precision)
        return self._engine

    @property
    def min_delay(self):
        """The minimum delay in ms; with ``setup(min_delay="auto")`` the smallest delay of
        the connections made so far (one time step before there are any)."""
        if self._min_delay == "auto":
            return self.dt if self._smallest_delay is None else self._smallest_delay
        return self._min_delay

    @property
    def declared_min_delay(self):
        """The lower bound on delays: min_delay as given to setup(), dt for "auto"."""
        return self.dt if self._min_delay == "auto" else self._min_delay

    def note_delays(self, smallest):
        """Record the smallest delay (ms) of new or changed connections ("auto" min_delay)."""
        if self._smallest_delay is None or smallest < self._smallest_delay:
            self._smallest_delay = float(smallest)

    @min_delay.setter
    def min_delay(self, value):
        self._min_delay = value

    @property
    def t(self):
        """Current simulation time (ms)."""
        return self._steps * self.dt

    def run(self, simtime):
        """Advance the simulation by `simtime` ms, rounded to whole time steps
        (at least one step for any positive `simtime`); the engine advances to its
        step nearest the new time."""
        self.running = True
        if simtime > 1e-6 * self.dt:
            self._steps += max(1, int(round(simtime / self.dt)))
            engine = self.engine
            n_engine = int(round(self.t / engine.dt)) - engine.step
            if n_engine > 0:
                self.host_sources.before_run(engine, (engine.step + n_engine + 0.5) * engine.dt)
                engine.run(n_engine * engine.dt)

    def run_until(self, tstop):
        """Advance the simulation until `tstop` ms."""
        self.run(tstop - self.t)

    def clear(self):
        """Forget the network: drop the engine, recorders and id counter."""
        self.recorders = set([])
        self._smallest_delay = None
        self.write_on_end = []
        self.id_counter = 0
        self.segment_counter = -1
        self._engine = None
        self.host_sources = HostSources()
        self.running = False
        self.reset()

    def reset(self):
        """Reset time to 0 and state variables to initial values (new Segment)."""
        if self._engine is not None:
            self._engine.reset()
            self.host_sources.reset()
        self.running = False
        self._steps = 0
        self.t_start = 0
        self.segment_counter += 1


state = State()
