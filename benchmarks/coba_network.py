#!/usr/bin/env python
"""IF_cond_exp (COBA) network benchmark on pyNN.ann and reference backends.

    python benchmarks/coba_network.py --sizes 1000,4000 --simulators ann,neuron,nest \
        --plot coba_run_time.png

The same driver as ``benchmarks/hh_network.py`` with ``--network coba`` as default; see
``pyNN_ann.validation.benchmark`` (``--help``) for options.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyNN_ann.validation.benchmark import main  # noqa: E402

if __name__ == "__main__":
    main(prog="benchmarks/coba_network.py", network="coba")
