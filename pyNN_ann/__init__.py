"""
pyNN.ann: a PyNN backend that runs neurons as pretrained CNN-LSTM surrogates.

Use it like any other PyNN backend::

    import pyNN.ann as sim
"""

from . import quiet  # noqa: F401  (first: hides TensorFlow start-up messages)

from pyNN import errors, random, space                          # noqa: F401
from pyNN.network import Network                                # noqa: F401
from pyNN.space import Space                                    # noqa: F401
from pyNN.random import NumpyRNG, GSLRNG, RandomDistribution    # noqa: F401
from pyNN.parameters import Sequence                            # noqa: F401
from pyNN.recording import get_io                               # noqa: F401
from pyNN.connectors import *                                   # noqa: F401, F403
from pyNN.standardmodels import StandardCellType

from .standardmodels.electrodes import (                        # noqa: F401
    DCSource, ACSource, StepCurrentSource, NoisyCurrentSource)
from .standardmodels.cells import *                             # noqa: F401, F403
from .standardmodels.synapses import *                          # noqa: F401, F403
from .standardmodels.receptors import *                         # noqa: F401, F403
from .populations import Population, PopulationView, Assembly   # noqa: F401
from .random import NativeRNG                                    # noqa: F401
from .projections import Projection, OneToOneConnector          # noqa: F401
from .control import (                                          # noqa: F401
    setup,
    end,
    run,
    run_until,
    run_for,
    reset,
    initialize,
    get_current_time,
    get_time_step,
    get_min_delay,
    get_max_delay,
    num_processes,
    rank,
)
from .procedural_api import (                                   # noqa: F401
    create, connect, set, record, record_v, record_gsyn)


def list_standard_models():
    """Return the names of the standard cell types this backend can run."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType]
