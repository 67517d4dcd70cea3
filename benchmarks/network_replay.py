#!/usr/bin/env python
"""Cells inside a network: VAbenchmarks COBA / CUBA cells replayed open-loop with the
recorded input of a pyNN.neuron network, pyNN.ann and NEURON dt 0.1 against CVODE.

    python benchmarks/network_replay.py --network COBA --output docs/benchmarks/network_replay/COBA

See ``pyNN_ann.validation.network_replay`` (``--help``) for the method and options.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyNN_ann.validation.network_replay import main  # noqa: E402

if __name__ == "__main__":
    main(prog="benchmarks/network_replay.py")
