"""Run an unmodified PyNN script on one backend and capture what it recorded.

``python -m pyNN_ann.validation.capture [--reseed N] [--setup-option K=V ...]
SIMULATOR OUTPUT SCRIPT [ARGS...]`` runs ``SCRIPT SIMULATOR ARGS...`` (the convention
of scripts that use ``pyNN.utility.get_simulator``; scripts reading ``sys.argv[1]``
work too). Just before the script's ``end()`` (or at exit), the spikes of every
Population that recorded them are saved to OUTPUT (.pkl) with the script's wall time.

``--reseed N`` adds N to every seed the script gives ``NumpyRNG`` and to
``setup(rng_seed=...)`` (the simulator's own random numbers): a statistically
equivalent run of a script with hard-coded seeds. ``--setup-option`` overrides
arguments of the script's ``setup()`` (e.g. ``use_cvode=True`` for a converged
pyNN.neuron reference).
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


DEFAULT_RNG_SEED = 12345  # seed of a setup() without rng_seed, when reseeding


def _wrap_setup(sim, offset, setup_options):
    """Shift the script's seeds by ``offset`` and override its setup() options; on
    pyNN.neuron with CVODE, threshold crossings are located by interpolation
    (``reference_simulators.interpolate_threshold_crossings``)."""
    from ..reference_simulators import interpolate_threshold_crossings
    from pyNN import random
    original_rng_init = random.NumpyRNG.__init__

    def rng_init(self, seed=None, *a, **kw):
        original_rng_init(self, None if seed is None else seed + offset, *a, **kw)

    if offset:
        random.NumpyRNG.__init__ = rng_init
    original_setup = sim.setup

    def setup(*a, **kw):
        if offset:
            kw["rng_seed"] = kw.get("rng_seed", DEFAULT_RNG_SEED) + offset
        kw.update(setup_options)
        result = original_setup(*a, **kw)
        interpolate_threshold_crossings(sim)
        return result

    sim.setup = setup


def _parse(argv):
    offset, options = 0, {}
    while argv and argv[0] in ("--reseed", "--setup-option"):
        flag, value, argv = argv[0], argv[1], argv[2:]
        if flag == "--reseed":
            offset = int(value)
        else:
            from ..surrogates.training.reference import _parse_option
            key, val = _parse_option(value)
            options[key] = val
    return offset, options, argv


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    offset, setup_options, argv = _parse(list(argv))
    simulator, output, script, args = argv[0], argv[1], argv[2], argv[3:]
    if simulator == "ann":
        import pyNN_ann_hook  # noqa: F401  (also from a source tree)
    sim = importlib.import_module(f"pyNN.{simulator}")
    if offset or setup_options or simulator == "neuron":
        _wrap_setup(sim, offset, setup_options)
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
