"""``pynn-ann train Izhikevich``: the membrane surrogate of PyNN's Izhikevich type
(``surrogates/izhikevich.py``), trained on converged pyNN.neuron reference data of
random delta-synaptic input protocols across the declared parameter domain."""

import os
import time

import numpy as np

from .. import izhikevich

# the recipe of the shipped model (command-line defaults of `pynn-ann train Izhikevich`)
DEFAULTS = dict(units=32, epochs=40, batch_size=128, length=300,
                schedule="0.5:0,1.0:10")


def load_data(data_dir, spec, workers=2, duration=2000.0, cells=None, dt=0.1):
    """Reference data sampled every ``dt`` ms (generated when missing), from
    ``data_dir``."""
    from ..registry import dt_suffix
    from .dataset import generate
    parts = []
    for regime, n_cells, seed in spec.training_sets:
        path = os.path.join(data_dir, f"{spec.name}_{regime}{dt_suffix(dt)}.npz")
        if os.path.exists(path):
            with np.load(path) as f:
                parts.append({k: f[k] for k in f.files})
        else:
            parts.append(generate(spec.name, cells or n_cells, duration, dt=dt, seed=seed,
                                  regime=regime, workers=workers))
            np.savez_compressed(path, **parts[-1])
    from .dataset import merge
    return merge(parts)


def train_izhikevich(args):
    from .. import registry
    from ..cell import IzhikevichSurrogateCell
    from .fit import training_record
    from .specs import SPECS
    from .train import fit_from_args, initial_norm

    spec = SPECS[izhikevich.MODEL]
    os.makedirs(args.data_dir, exist_ok=True)
    data = load_data(args.data_dir, spec, args.workers, args.duration, args.cells, args.dt)
    inputs, v, clamp = izhikevich.training_inputs(data)
    dt = float(data["dt"])
    norm = initial_norm(args, izhikevich.normalisation(inputs, v, clamp, dt))
    cell = IzhikevichSurrogateCell(units=args.units, norm=norm)
    started = time.perf_counter()
    history = fit_from_args(cell, data, spec, args, warmup=50)
    output = args.output or registry.model_dir(izhikevich.MODEL, args.dt)
    v_after = v + inputs[..., 4]
    metadata = {
        "celltype": izhikevich.MODEL, "kind": izhikevich.KIND, "dt": dt,
        "spike_threshold": izhikevich.V_PEAK,
        "domain": {"fixed": {}, "ranges": izhikevich.DOMAIN, "initial": izhikevich.INITIAL},
        "training": training_record(
            args, started, history, cells=int(v.shape[0]),
            regimes=[list(r) for r in spec.training_sets],
            duration_ms=float((v.shape[1] - 1) * dt)),
        "accuracy": {},
        # beyond these (reached in the training data), a warning
        "input_range": {"v_depth": float(-v_after[~clamp].min()),
                        "u_abs": float(np.abs(inputs[..., 1]).max()),
                        "i_ext": [float(inputs[:, 0, 0].min() / izhikevich.CURRENT_SCALE),
                                  float(inputs[:, 0, 0].max() / izhikevich.CURRENT_SCALE)]},
    }
    metadata = registry.save(output, cell, metadata)
    print(f"saved the {izhikevich.MODEL} surrogate to {output} "
          f"({metadata['flops_per_step']} FLOP per neuron-step)")
