#!/usr/bin/env python
"""HH_cond_exp network benchmark on pyNN.ann and reference backends.

    python benchmarks/hh_network.py --sizes 1000,4000 --simulators ann,neuron

See ``pyNN_ann.validation.benchmark`` (``--help``) for options; ``--network coba`` runs the
IF_cond_exp network instead (as ``benchmarks/coba_network.py`` does).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyNN_ann.validation.benchmark import main  # noqa: E402

if __name__ == "__main__":
    main(prog="benchmarks/hh_network.py")
