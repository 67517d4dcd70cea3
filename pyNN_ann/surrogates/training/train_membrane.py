"""``pynn-ann train IF_membrane`` / ``EIF_membrane`` (or any cell type they serve): the
shared membrane surrogates of the integrate-and-fire families, each trained on
reference data of every member that pyNN.neuron provides (IF_curr_delta has no
pyNN.neuron model; its membrane is the leaky one)."""

import os
import time

import numpy as np

from .. import if_family

# declared parameter domain of the membrane surrogate (membrane parameter names).
# The surrogate sees the cell only through v_inf and the rate constant, so cm and the
# potentials need no range of their own: the inputs they produce are checked at run
# time against the trained input range. tau_m bounds the slowest rate; the synaptic
# time constants shape how fast the inputs change within a step.
DOMAIN = {"tau_m": [3.0, 100.0], "tau_syn_E": [0.1, 40.0], "tau_syn_I": [0.1, 40.0],
          "cm": [1e-3, 1e3], "tau_refrac": [0.0, 1e6], "tau_sfa": [1e-3, 1e6],
          "tau_rr": [1e-3, 1e6], "q_sfa": [0.0, 1e6], "q_rr": [0.0, 1e6]}
# the exponential membrane: the exponential term's steepness and the membrane time
# constant shape the dynamics the surrogate learned; adaptation (a, b, tau_w) is exact
EIF_DOMAIN = dict(DOMAIN, tau_m=[5.0, 50.0], delta_T=[0.5, 5.0], tau_w=[1e-3, 1e6],
                  a=[-1e6, 1e6], b=[-1e6, 1e6])


def model_of(name):
    """The membrane surrogate that ``name`` (a cell type or a model) refers to."""
    return if_family.MODELS.get(name, name)


def load_family_data(data_dir, workers=2, duration=2000.0, model=if_family.MODEL, dt=0.1,
                     cells=None):
    """Reference data of every type run by ``model`` with training cells (generated
    when missing), sampled every ``dt`` ms, merged, with a ``celltype`` column and NaN
    for parameters a type lacks. ``cells`` replaces each type's own number of cells
    (files are named by type and regime only: use a fresh ``data_dir``)."""
    from ..registry import dt_suffix
    from .dataset import generate
    from .specs import SPECS
    parts = []
    for name in [ct for ct in if_family.SYNAPSES if if_family.MODELS[ct] == model]:
        for regime, count, seed in SPECS[name].training_sets:
            if not count:
                continue
            count = cells or count
            path = os.path.join(data_dir, f"{name}_{regime}{dt_suffix(dt)}.npz")
            if os.path.exists(path):
                with np.load(path) as f:
                    data = {k: f[k] for k in f.files}
            else:
                data = generate(name, count, duration, dt=dt, seed=seed, regime=regime,
                                workers=workers)
                np.savez_compressed(path, **data)
            data["celltype"] = np.array([name] * data["v"].shape[0])
            parts.append(data)
    keys = set().union(*parts)
    merged = {}
    for k in sorted(keys):
        if k == "dt":
            merged[k] = parts[0][k]
        elif k.startswith("param_"):
            merged[k] = np.concatenate([p.get(k, np.full(p["v"].shape[0], np.nan))
                                        for p in parts])
        else:
            merged[k] = np.concatenate([p[k] for p in parts])
    return merged


def train_membrane(args):
    from .. import registry
    from ..cell import ExponentialMembraneSurrogateCell, MembraneSurrogateCell
    from .fit import normalisation, surrogate_inputs, training_record
    from .train import fit_from_args, initial_norm
    from .specs import SPECS

    model = model_of(args.celltype)
    exponential = model == if_family.EIF_MODEL
    os.makedirs(args.data_dir, exist_ok=True)
    data = load_family_data(args.data_dir, args.workers, args.duration, model, args.dt,
                            cells=args.cells)
    spec = SPECS["EIF_cond_exp_isfa_ista" if exponential else "IF_cond_exp"]
    inputs, v, clamp = surrogate_inputs(data, spec)
    norm = normalisation(inputs, v, clamp, spec, dt=float(data["dt"]))
    cls = ExponentialMembraneSurrogateCell if exponential else MembraneSurrogateCell
    norm["rate_scaled"] = 1.0  # see MembraneSurrogateCell.increment
    norm = initial_norm(args, norm)
    cell = cls(units=args.units, norm=norm)
    started = time.perf_counter()
    # teacher-forced warm-up of mid-trace windows: 50 steps of the 300-step windows at
    # dt 0.1, a sixth of longer windows
    history = fit_from_args(cell, data, spec, args, warmup=max(50, args.length // 6))
    free = ~(clamp[:, :-1] | clamp[:, 1:])
    drive = np.abs(inputs[:, :-1, 0] - v[:, :-1])[free]
    counts = {ct: int(n) for ct, n in zip(*np.unique(data["celltype"], return_counts=True))}
    output = args.output or registry.model_dir(model, args.dt)
    metadata = {
        "celltype": model, "kind": "exp_membrane" if exponential else "membrane",
        "dt": float(data["dt"]),
        "celltypes": [ct for ct in if_family.SYNAPSES if if_family.MODELS[ct] == model],
        "spike_threshold": None,
        "domain": {"fixed": {}, "ranges": EIF_DOMAIN if exponential else DOMAIN,
                   "initial": {}},
        "training": training_record(
            args, started, history, cells=counts,
            duration_ms=float((v.shape[1] - 1) * data["dt"])),
        "accuracy": {},
        # largest inputs in the training data: beyond them, a warning
        "input_range": {"rate": float(inputs[:, :-1, 1][free].max()),
                        "drive": float(drive.max())},
    }
    metadata = registry.save(output, cell, metadata)
    print(f"saved the {model} surrogate to {output} "
          f"({metadata['flops_per_step']} FLOP per neuron-step)")
