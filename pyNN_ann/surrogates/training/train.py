"""``pynn-ann train CELLTYPE``: regenerate reference data and retrain a surrogate.

Seeded end to end: the same command gives the same data and (up to floating-point
non-determinism of the CPU kernels) the same model. The result is written in the
registry format (weights.npz + metadata.json) into the package's models directory,
or ``--output``.
"""

import argparse
import os
import time

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pynn-ann train", description=__doc__)
    parser.add_argument("celltype")
    parser.add_argument("--cells", type=int, help="reference cells per input regime, and per "
                        "cell type for the shared membranes (default: the cell type's "
                        "training specification)")
    parser.add_argument("--dt", type=float, default=0.1,
                        help="ms: the time step the surrogate is trained for (reference "
                             "sampled on this grid; the engine picks the model by dt)")
    parser.add_argument("--duration", type=float, help="ms per cell (default 2000; "
                        "500 at dt < 0.1)")
    parser.add_argument("--data-dir", default="pynn_ann_data",
                        help="reference data are stored (and reused) here")
    parser.add_argument("--output", help="model directory (default: the package's)")
    parser.add_argument("--units", type=int, help="LSTM units (default 32)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batches-per-epoch", type=int, default=50)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--length", type=int, help="steps per training window")
    parser.add_argument("--learning-rate", type=float, help="default 2e-3 (3e-4 at dt < 0.1)")
    parser.add_argument("--loss", choices=("mse", "huber"),
                        help="default mse (huber at dt < 0.1)")
    parser.add_argument("--schedule",
                        help="curriculum as fraction:horizon pairs (horizon 0 = teacher "
                             "forcing, 'none' = free run)")
    parser.add_argument("--init", help="start from the weights.npz of an earlier model")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    hh = not (args.celltype.startswith("IF_") or args.celltype.startswith("EIF_"))
    # HH: the channel surrogate's recipe (windows of a 15-ms teacher-forced warm-up,
    # at most 500 steps, and a free part: 45 ms at dt 0.1, 15 ms at 0.025, 10 at 0.01)
    defaults = (dict(units=32, epochs=60, batch_size=128, length=600,
                     schedule="0.15:0,0.4:10,0.7:50,1.0:none") if hh else
                dict(units=32, epochs=40, batch_size=128, length=300,
                     schedule="0.3:0,0.6:10,1.0:50"))
    if args.celltype == "Izhikevich":
        from .train_izhikevich import DEFAULTS as defaults
    defaults = dict(defaults)
    if args.dt < 0.1 - 1e-9:
        defaults.update(duration=500.0)  # ten times the samples per ms
        if hh and args.celltype != "Izhikevich":
            fine = args.dt < 0.02 - 1e-9
            defaults.update(batch_size=64, length=1500 if fine else 1100,
                            epochs=40 if fine else 60)
        if not hh:  # the recipe of the shipped dt-0.01 IF and EIF models
            defaults.update(length=600, schedule="0.3:0,1.0:20", epochs=20,
                            learning_rate=3e-4, loss="huber")
    for key, value in (("duration", 2000.0), ("learning_rate", 2e-3), ("loss", "mse")):
        defaults.setdefault(key, value)
    for key, value in defaults.items():  # the recipes of the shipped models
        if getattr(args, key) is None:
            setattr(args, key, value)

    from ... import quiet  # noqa: F401  (before TensorFlow)
    from .. import if_family
    from .specs import SPECS

    if args.celltype in if_family.MODELS or args.celltype in if_family.MODELS.values():
        from .train_membrane import train_membrane
        return train_membrane(args)
    if args.celltype in if_family.GIF_SYNAPSES:  # runs on the shared IF membrane
        raise SystemExit(f"{args.celltype} runs on the {if_family.MODEL} surrogate: "
                         f"`pynn-ann train {if_family.MODEL}`")
    if args.celltype == "Izhikevich":
        from .train_izhikevich import train_izhikevich
        return train_izhikevich(args)
    if args.celltype not in SPECS:
        raise SystemExit(f"no training specification for {args.celltype}; "
                         f"known: {', '.join(list(SPECS) + sorted(set(if_family.MODELS.values())))}")
    return train_hh(args)


def dt_suffix(dt):
    """File-name suffix of data and models at ``dt`` ms: none at 0.1 (the original
    models), ``_dt<dt>`` otherwise."""
    from ..registry import dt_suffix as suffix
    return suffix(dt)


def initial_norm(args, norm):
    """The feature scales to train with: those of the ``--init`` model where its
    metadata.json lies beside its weights (fine-tuning on new data must not rescale
    the inputs its weights were trained on), else ``norm``, computed from the data.
    An ``--init`` model of another time step keeps its input scales only: the output
    scales (``dv_scale``, ``du_scale``) and ``dt`` follow the new step."""
    if args.init:
        path = os.path.join(os.path.dirname(os.path.abspath(args.init)), "metadata.json")
        if os.path.exists(path):
            import json
            with open(path) as f:
                metadata = json.load(f)
            from ..registry import same_dt
            kept = dict(metadata["architecture"]["norm"])
            if not same_dt(metadata.get("dt", args.dt), args.dt):
                kept.update({k: norm[k] for k in ("dt", "dv_scale", "du_scale") if k in norm})
            return kept
    return norm


def fit_from_args(cell, data, spec, args, **options):
    """Train ``cell`` with the command line's recipe (``--init`` weights, curriculum,
    batch sizes); returns the loss history."""
    from .fit import train
    if args.init:
        cell.build((None, len(cell.INPUTS)))
        with np.load(args.init, allow_pickle=False) as w:
            cell.set_weights([w[f"arr_{i}"] for i in range(len(w.files))])
    schedule = tuple((float(f), None if h.lower() == "none" else int(h))
                     for f, h in (pair.split(":") for pair in args.schedule.split(",")))
    return train(cell, data, spec, epochs=args.epochs,
                 batches_per_epoch=args.batches_per_epoch, batch_size=args.batch_size,
                 length=args.length, learning_rate=args.learning_rate, loss=args.loss,
                 schedule=schedule, seed=args.seed, **options)


def train_hh(args):
    """Train a Hodgkin-Huxley-type surrogate (its own reference data; the cell class
    named by the spec, ``ChannelSurrogateCell`` for HH_cond_exp)."""
    from .. import cell as cell_classes
    from .. import registry
    from .dataset import generate, merge, with_conductances
    from .fit import normalisation, surrogate_inputs, training_record
    from .specs import SPECS

    spec = SPECS[args.celltype]
    os.makedirs(args.data_dir, exist_ok=True)
    datasets = []
    for regime, cells, data_seed in spec.training_sets:
        path = os.path.join(args.data_dir, f"{args.celltype}_{regime}{dt_suffix(args.dt)}.npz")
        if os.path.exists(path):
            with np.load(path) as f:
                datasets.append({k: f[k] for k in f.files})
        else:
            datasets.append(generate(args.celltype, args.cells or cells, args.duration,
                                     dt=args.dt, seed=data_seed, regime=regime,
                                     workers=args.workers))
            np.savez_compressed(path, **datasets[-1])
    data = with_conductances(merge(datasets))
    inputs, v, clamp = surrogate_inputs(data, spec)
    dt = float(data["dt"])
    norm = normalisation(inputs, v, clamp, spec, dt=dt)
    cls = getattr(cell_classes, getattr(spec, "cell", "StreamingSurrogateCell"))
    if cls is cell_classes.StreamingSurrogateCell:
        # mV per step at unit output: spikes reach ~70 mV per 0.1 ms step
        norm["dv_scale"] = 20.0 * dt / 0.1
    norm = initial_norm(args, norm)
    options = {}
    if cls is cell_classes.ChannelSurrogateCell:  # channel parameters as features too
        options["conditioned"] = any("channels" in spec.input_regimes[regime]
                                     for regime, _, _ in spec.training_sets)
    cell = cls(units=args.units, norm=norm, **options)
    started = time.perf_counter()
    # teacher-forced warm-up that fills the model's memory: 15 ms, at most 500 steps
    history = fit_from_args(cell, data, spec, args, warmup=min(500, int(round(15.0 / dt))))
    output = args.output or registry.model_dir(args.celltype, args.dt)
    metadata = {
        "celltype": args.celltype, "dt": float(data["dt"]),
        "spike_threshold": spec.spike_threshold, "reference_leak": spec.reference_leak,
        "domain": {"fixed": spec.fixed, "ranges": {k: list(v) for k, v in spec.ranges.items()},
                   "initial": {"v": list(spec.v_init_range)},
                   "synaptic_weights": spec.weight_range()},
        "training": training_record(
            args, started, history, cells=int(data["v"].shape[0]),
            regimes=[list(r) for r in spec.training_sets],
            duration_ms=float((data["v"].shape[1] - 1) * data["dt"])),
        "accuracy": {},
        # largest conductances in the training data (uS): beyond them, a warning
        "input_range": {"g_exc": float(data["g_exc"].max()), "g_inh": float(data["g_inh"].max()),
                        "i_ext": [float(inputs[:, 0, 4].min()), float(inputs[:, 0, 4].max())]},
    }
    metadata = registry.save(output, cell, metadata)
    print(f"saved {args.celltype} surrogate to {output} "
          f"({metadata['flops_per_step']} FLOP per neuron-step)")


if __name__ == "__main__":
    main()
