"""Run an unmodified PyNN script on one backend and capture what it recorded.

``python -m pyNN_ann.validation.capture SIMULATOR OUTPUT SCRIPT [ARGS...]`` runs
``SCRIPT SIMULATOR ARGS...`` (the convention of scripts that use
``pyNN.utility.get_simulator``; scripts reading ``sys.argv[1]`` work too). Just
before the script's ``end()`` (or at exit), the spikes of every Population that
recorded them are saved to OUTPUT (.pkl) with the script's wall time.
"""

import atexit
import importlib
import pickle
import runpy
import sys
import time


def _collect(populations, t_stop):
    out = []
    for pop in populations:
        try:
            block = pop.get_data("spikes", clear=False)
        except Exception:  # nothing recorded, or not a recordable population
            continue
        trains = block.segments[-1].spiketrains if block.segments else []
        if not trains:
            continue
        out.append({"label": pop.label, "celltype": pop.celltype.__class__.__name__,
                    "size": pop.size,
                    "spikes": [st.rescale("ms").magnitude.copy() for st in trains],
                    "t_stop": t_stop})
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    simulator, output, script, args = argv[0], argv[1], argv[2], argv[3:]
    if simulator == "ann":
        import pyNN_ann_hook  # noqa: F401  (also from a source tree)
    sim = importlib.import_module(f"pyNN.{simulator}")
    from pyNN import common
    populations = []
    original_init = common.Population.__init__

    def init(self, *a, **kw):
        original_init(self, *a, **kw)
        populations.append(self)

    common.Population.__init__ = init
    started = time.perf_counter()
    saved = {}

    def save():
        if saved:
            return
        saved["done"] = True
        data = {"simulator": simulator, "script": script, "args": args,
                "wall_s": time.perf_counter() - started,
                "populations": _collect(populations, sim.get_current_time())}
        with open(output, "wb") as f:
            pickle.dump(data, f)

    original_end = sim.end

    def end(*a, **kw):
        save()
        return original_end(*a, **kw)

    sim.end = end
    atexit.register(save)
    sys.argv = [script, simulator] + list(args)
    runpy.run_path(script, run_name="__main__")
    save()


if __name__ == "__main__":
    main()
