#!/usr/bin/env python
"""Work–precision comparison: run time against spike coincidence Γ with the converged
run, pyNN.ann vs pyNN.neuron (fixed step at several dt, CVODE at several tolerances).

    python benchmarks/work_precision.py --output docs/benchmarks/work_precision

See ``pyNN_ann.validation.work_precision`` (``--help``) for options (``--celltype
IF_cond_exp``, ``--inputs heldout-standard``, ``--cells``, ``--configs``, ...).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyNN_ann.validation.work_precision import main  # noqa: E402

if __name__ == "__main__":
    main(prog="benchmarks/work_precision.py")
