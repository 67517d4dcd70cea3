"""Work–precision comparison: run time against accuracy, pyNN.ann vs pyNN.neuron.

NEURON's fixed step at dt 0.1 ms is not converged for Hodgkin–Huxley cells (BRIEF §5),
so comparing run times at one dt compares simulations of different accuracy. This
module draws the comparison as numerical analysts do (a *work–precision diagram*):
every configuration — pyNN.ann at its dt, pyNN.neuron with a fixed step at several
dt, pyNN.neuron with CVODE at several tolerances — runs the same N unconnected cells
with the same input spike trains (``SpikeSourceArray``, identical for every simulator,
so spikes are comparable cell by cell), and is scored by its spike coincidence factor
Γ (Δ = 2 ms, :func:`.metrics.compare`) against a converged run (pyNN.neuron CVODE,
rtol = atol = 1e-6 as for the training data, one integrator per cell), whose own
convergence is checked on a subset of the cells against PyNN's global CVODE at the
same tolerance (exactly how the training data are made) and against a 100× tighter
tolerance. The NEURON run time at
pyNN.ann's Γ is found by interpolation along each NEURON curve
(:func:`matched_time`), giving the accuracy-matched speed ratio.

Inputs (``--inputs``):

* ``poisson`` (default): the cell type's benchmark parameters (COBAHH for
  HH_cond_exp, COBA for IF_cond_exp; :mod:`.benchmark_networks`), stationary
  Poisson excitatory and inhibitory trains with rates drawn per cell
  (log-uniform), so the population spans weak to strong firing;
* ``heldout-standard`` / ``heldout-high_conductance``: the held-out random protocols
  of the single-cell validation (:func:`..surrogates.training.protocols.random_protocol`,
  seed 900001), parameters varying cell by cell across the surrogate's domain.

Input spike times lie on a 0.1 ms grid. Timed configurations run one after another,
each in a fresh process, in alternating order over ``--repeats`` rounds; the run time
of a configuration is the *minimum* over rounds (the run least disturbed by other
work on a shared machine), all rounds are kept in the JSON. pyNN.ann runs twice in its
process (``run``, ``reset``, ``run``): the first run includes XLA compilation, the
second does not; the second is its run time, and the compilation time (first minus
second) is reported separately. Only ``run()`` is timed (not building, not reading out
spikes).

CVODE: pyNN.neuron's ``use_cvode=True`` integrates the whole population as *one* ODE
system (global step), which every input spike to any cell interrupts; its cost grows
as N². ``neuron-lcvode<tol>`` labels therefore time NEURON's local variable time step
(``h.CVode().use_local_dt(1)``, one integrator per cell, set after ``setup()``; not a
PyNN option), the CVODE mode NEURON recommends for networks; ``neuron-cvode<tol>``
labels are PyNN's global CVODE. Reference and check runs are not timed; they are
split over ``--workers`` processes (global CVODE: ``--chunk`` cells per process; the
cells are unconnected, so this changes nothing but the cost) and cached on disk.

Input spikes start at 0.2 ms (``MIN_INPUT_TIME``, for pyNN.nest's spike generators);
pyNN.nest runs with ``min_delay`` = its time step and one thread.

The child processes run this file as a script, so a pyNN.neuron child does not import
pyNN_ann (nor TensorFlow).
"""

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HELD_OUT_SEED = 900001
# the converged reference: CVODE, rtol = atol = 1e-6 (as reference.CONVERGED_NEURON),
# with one integrator per cell; checked against PyNN's global CVODE at the same
# tolerance (exactly how the training data are made) and a 100x tighter tolerance
REFERENCE = "neuron-lcvode1e-06"
CHECKS = ("neuron-cvode1e-06", "neuron-lcvode1e-08")
DEFAULT_CONFIGS = ("ann-dt0.1", "neuron-dt1.0", "neuron-dt0.5", "neuron-dt0.25",
                   "neuron-dt0.1", "neuron-dt0.05", "neuron-dt0.025", "neuron-dt0.01",
                   "neuron-dt0.005", "neuron-lcvode0.01", "neuron-lcvode0.001", "nest-dt0.1")
GRID = 0.1  # ms, grid of the input spike times
# no input spike before this (ms): pyNN.nest hands a SpikeSourceArray's times to its
# spike_generator shifted by -min_delay, which must stay > 0
MIN_INPUT_TIME = 0.2

# stationary Poisson drive per cell type: rates log-uniform in [lo, hi] Hz, weight uS
POISSON_DRIVE = {
    "HH_cond_exp": {"exc_rate": (500.0, 4000.0), "exc_weight": 0.0005,
                    "inh_rate": (250.0, 2000.0), "inh_weight": 0.001},
    "IF_cond_exp": {"exc_rate": (500.0, 4000.0), "exc_weight": 0.0004,
                    "inh_rate": (250.0, 2000.0), "inh_weight": 0.001},
}


# --- configurations ------------------------------------------------------------------

def parse_label(label):
    """``ann-dt0.1``, ``neuron-dt0.025``, ``nest-dt0.1``, ``neuron-cvode1e-3``,
    ``neuron-lcvode1e-3`` -> dict(backend, family, timestep, options, local_dt, x).

    ``family`` groups the points of one curve (``ann``, ``neuron fixed step``, ...);
    ``x`` is the curve's parameter (dt in ms or tolerance)."""
    backend, _, rest = label.partition("-")
    if backend not in ("ann", "neuron", "nest") or not rest:
        raise ValueError(f"unknown configuration {label!r}")
    if rest.startswith("dt"):
        dt = float(rest[2:])
        options = {"use_cvode": False} if backend == "neuron" else {}
        if backend == "nest":
            options = {"threads": 1}
        family = "ann" if backend == "ann" else f"{backend} fixed step"
        return {"label": label, "backend": backend, "family": family, "timestep": dt,
                "options": options, "local_dt": False, "x": dt}
    for prefix, local in (("lcvode", True), ("cvode", False)):
        if rest.startswith(prefix) and backend == "neuron":
            tol = float(rest[len(prefix):])
            return {"label": label, "backend": backend,
                    "family": "neuron CVODE" + (" (local dt)" if local else ""),
                    "timestep": GRID, "options": {"use_cvode": True, "rtol": tol, "atol": tol},
                    "local_dt": local, "x": tol}
    raise ValueError(f"unknown configuration {label!r}")


# --- inputs ------------------------------------------------------------------------------

def _grid_times(times, duration, dt=GRID):
    steps = np.unique(np.round(np.sort(times) / dt).astype(np.int64))
    steps = steps[(steps * dt >= MIN_INPUT_TIME - 1e-9) & (steps * dt < duration)]
    return steps * dt


def _log_uniform(rng, lo, hi, size):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def make_protocol(inputs, celltype, n, duration, seed=HELD_OUT_SEED, drive=None):
    """The N cells and their input trains (a training ``Protocol``).

    ``drive`` overrides entries of ``POISSON_DRIVE[celltype]`` (``poisson`` inputs)."""
    from pyNN_ann.surrogates.training.protocols import Protocol, random_protocol
    if inputs.startswith("heldout-"):
        from pyNN_ann.surrogates.training.specs import SPECS
        protocol = random_protocol(SPECS[celltype], n, duration, dt=GRID, seed=seed,
                                   regime=inputs[len("heldout-"):])
        for trains in (protocol.exc_spikes, protocol.inh_spikes):
            trains[:] = [s[s >= MIN_INPUT_TIME - 1e-9] for s in trains]
        protocol.meta["inputs"] = inputs
        return protocol
    if inputs != "poisson":
        raise ValueError(f"unknown inputs {inputs!r} (poisson, heldout-<regime>)")
    from .benchmark_networks import NETWORKS
    net = next(net for net in NETWORKS.values() if net.celltype == celltype)
    drive = dict(POISSON_DRIVE[celltype], **(drive or {}))
    rng = np.random.default_rng(seed)
    v_init = rng.uniform(*net.v_init, n)
    trains = {}
    for kind in ("exc", "inh"):
        rates = _log_uniform(rng, *drive[kind + "_rate"], n)
        trains[kind] = [_grid_times(rng.uniform(0, duration, rng.poisson(r * duration / 1000.0)),
                                    duration) for r in rates]
    params = {k: np.full(n, float(v)) for k, v in net.cell_params.items()}
    return Protocol(celltype=celltype, duration=duration, dt=GRID, parameters=params,
                    v_init=v_init, exc_spikes=trains["exc"], inh_spikes=trains["inh"],
                    exc_weight=np.full(n, drive["exc_weight"]),
                    inh_weight=np.full(n, drive["inh_weight"]), delay=1.0, seed=seed,
                    meta={"inputs": inputs})


def parse_drive(items):
    """["exc_rate=500:4000", "exc_weight=0.002"] -> {"exc_rate": (500.0, 4000.0), ...}."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in ("exc_rate", "inh_rate", "exc_weight", "inh_weight") or not value:
            raise ValueError(f"bad --drive {item!r}")
        out[key] = tuple(float(v) for v in value.split(":")) if key.endswith("rate") \
            else float(value)
        if key.endswith("rate") and len(out[key]) != 2:
            raise ValueError(f"bad --drive {item!r}: a rate range is LO:HI")
    return out


def protocol_key(protocol):
    """A short hash of everything that determines a run's result."""
    h = hashlib.sha1()
    h.update(f"{protocol.celltype} {protocol.duration} {protocol.delay}".encode())
    for k in sorted(protocol.parameters):
        h.update(k.encode())
        h.update(np.ascontiguousarray(protocol.parameters[k], float).tobytes())
    for arr in [protocol.v_init, protocol.exc_weight, protocol.inh_weight]:
        h.update(np.ascontiguousarray(arr, float).tobytes())
    for trains in (protocol.exc_spikes, protocol.inh_spikes):
        h.update(np.array([len(s) for s in trains]).tobytes())
        h.update(np.ascontiguousarray(np.concatenate(trains), float).tobytes())
    return h.hexdigest()[:12]


# --- child process ------------------------------------------------------------------------

def _load_protocol_arrays(path):
    """The arrays of a saved ``Protocol`` (without importing pyNN_ann)."""
    d = np.load(path, allow_pickle=False)

    def split(counts, times):
        return np.split(times, np.cumsum(counts)[:-1])

    return {"celltype": str(d["celltype"]), "duration": float(d["duration"]),
            "delay": float(d["delay"]), "v_init": d["v_init"],
            "parameters": dict(zip([str(k) for k in d["param_names"]], d["param_values"])),
            "exc_spikes": split(d["exc_counts"], d["exc_times"]),
            "inh_spikes": split(d["inh_counts"], d["inh_times"]),
            "exc_weight": d["exc_weight"], "inh_weight": d["inh_weight"]}


def _spike_trains(cells, segment=-1):
    seg = cells.get_data("spikes").segments[segment]
    return [np.asarray(st.rescale("ms").magnitude, float) for st in seg.spiketrains]


def run_child(protocol_path, label, warm=None):
    """Build the cells of a saved protocol on one configuration and time ``run()``.

    Returns (info dict, spike trains). ``warm`` (default: for pyNN.ann) runs a second
    time after ``reset()`` and reports that run's time and spikes."""
    import importlib
    cfg = parse_label(label)
    p = _load_protocol_arrays(protocol_path)
    n = len(p["v_init"])
    warm = cfg["backend"] == "ann" if warm is None else warm
    if cfg["backend"] == "ann":
        try:
            sim = importlib.import_module("pyNN.ann")
        except ModuleNotFoundError:
            sim = importlib.import_module("pyNN_ann")  # import hook not installed
    else:
        sim = importlib.import_module(f"pyNN.{cfg['backend']}")
    load = [os.getloadavg()[0]]
    t0 = time.perf_counter()
    # pyNN.nest: min_delay one step (see MIN_INPUT_TIME); the synaptic delay is p["delay"]
    min_delay = cfg["timestep"] if cfg["backend"] == "nest" else p["delay"]
    sim.setup(timestep=cfg["timestep"], min_delay=min_delay, **cfg["options"])
    _reference_simulators().interpolate_threshold_crossings(sim)
    if cfg["local_dt"]:
        sim.simulator.state.cvode.use_local_dt(1)
    cells = sim.Population(n, getattr(sim, p["celltype"])(**p["parameters"]))
    cells.initialize(v=p["v_init"])
    index = np.arange(n)
    for kind, receptor in (("exc", "excitatory"), ("inh", "inhibitory")):
        src = sim.Population(n, sim.SpikeSourceArray(
            spike_times=[sim.Sequence(t) for t in p[kind + "_spikes"]]))
        conns = np.column_stack([index, index, p[kind + "_weight"], np.full(n, p["delay"])])
        sim.Projection(src, cells, sim.FromListConnector(conns, column_names=["weight", "delay"]),
                       sim.StaticSynapse(), receptor_type=receptor)
    cells.record("spikes")
    build_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    sim.run(p["duration"])
    first_s, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    info = {"label": label, "n": n, "duration_ms": p["duration"], "build_s": build_s,
            "first_run_s": first_s, "first_run_cpu_s": first_cpu,
            "setup_options": dict(cfg["options"], timestep=cfg["timestep"],
                                  use_local_dt=cfg["local_dt"])}
    spikes = _spike_trains(cells)
    if warm:
        sim.reset()
        t0, c0 = time.perf_counter(), time.process_time()
        sim.run(p["duration"])
        info["warm_run_s"], info["warm_run_cpu_s"] = (time.perf_counter() - t0,
                                                      time.process_time() - c0)
        warm_spikes = _spike_trains(cells)
        info["warm_identical"] = len(warm_spikes) == len(spikes) and all(
            np.array_equal(a, b) for a, b in zip(spikes, warm_spikes))
        spikes = warm_spikes
        info["run_s"], info["run_cpu_s"] = info["warm_run_s"], info["warm_run_cpu_s"]
        info["compile_s"] = first_s - info["warm_run_s"]
    else:
        info["run_s"], info["run_cpu_s"] = first_s, first_cpu
    sim.end()
    load.append(os.getloadavg()[0])
    info["load_avg_1min"] = load
    return info, spikes


def _reference_simulators():
    """``pyNN_ann.reference_simulators``; in a child run as a script, loaded from its
    file, so that the child imports neither pyNN_ann nor TensorFlow."""
    try:
        from .. import reference_simulators
    except ImportError:
        import importlib.util
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "reference_simulators.py")
        spec = importlib.util.spec_from_file_location("reference_simulators", path)
        reference_simulators = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(reference_simulators)
    return reference_simulators


def _save_spikes(path, spikes):
    np.savez_compressed(path, counts=[len(s) for s in spikes],
                        times=np.concatenate(spikes) if spikes else np.zeros(0))


def _load_spikes(path):
    d = np.load(path)
    return np.split(d["times"], np.cumsum(d["counts"])[:-1])


def run_in_subprocess(protocol, label, timeout=None, warm=None):
    """:func:`run_child` in a fresh Python process; returns (info, spikes) or
    ({"label", "error"}, None)."""
    with tempfile.TemporaryDirectory() as tmp:
        pin, out = os.path.join(tmp, "protocol.npz"), os.path.join(tmp, "out")
        protocol.save(pin)
        cmd = [sys.executable, os.path.abspath(__file__), "--child", label,
               "--child-protocol", pin, "--child-out", out]
        if warm is not None:
            cmd += ["--child-warm", str(int(warm))]
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [root] + [q for q in os.environ.get("PYTHONPATH", "").split(os.pathsep) if q]))
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"label": label, "error": f"timed out after {timeout} s"}, None
        if proc.returncode != 0 or not os.path.exists(out + ".json"):
            tail = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            return {"label": label, "error": tail[-1] if tail else "failed",
                    "stderr": proc.stderr[-3000:]}, None
        with open(out + ".json") as f:
            info = json.load(f)
        info["process_wall_s"] = time.perf_counter() - t0
        return info, _load_spikes(out + ".npz")


def run_chunked(protocol, label, chunk=10, workers=2, timeout=None):
    """Untimed run of ``protocol`` in chunks of ``chunk`` cells, ``workers`` at a time
    (for the reference: global CVODE costs grow as the square of the cells per process)."""
    from concurrent.futures import ThreadPoolExecutor
    chunks = [np.arange(i, min(i + chunk, protocol.size)) for i in range(0, protocol.size, chunk)]

    def job(idx):
        info, spikes = run_in_subprocess(protocol.subset(idx), label, timeout=timeout,
                                         warm=False)
        if spikes is None:
            raise RuntimeError(f"{label} failed: {info.get('error')}\n{info.get('stderr', '')}")
        return spikes

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(job, chunks))
    return [s for part in parts for s in part]


def reference_chunk(label, n, workers=2, chunk=10):
    """Cells per process for an untimed run: ``chunk`` for PyNN's global CVODE (its
    cost grows as the square of the cells per process), else an equal share per worker."""
    cfg = parse_label(label)
    if cfg["options"].get("use_cvode") and not cfg["local_dt"]:
        return chunk
    return max(1, math.ceil(n / max(1, workers)))


def default_cache():
    """Where reference runs are cached unless ``--cache`` says otherwise."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "pyNN_ann", "work_precision")


def cached_reference(protocol, label, cache_dir, chunk=10, workers=2, log=print):
    """The spikes of ``label`` on ``protocol`` (untimed, :func:`run_chunked` with
    :func:`reference_chunk` cells per process), from ``cache_dir`` if computed before."""
    chunk = reference_chunk(label, protocol.size, workers, chunk)
    revision = _reference_simulators().CVODE_REVISION if "cvode" in label else ""
    path = (os.path.join(cache_dir, f"{protocol_key(protocol)}_{label}{revision}.npz")
            if cache_dir else None)
    if path and os.path.exists(path):
        log(f"[work-precision] {label}: cached ({path})")
        return _load_spikes(path), None
    t0 = time.perf_counter()
    spikes = run_chunked(protocol, label, chunk=chunk, workers=workers)
    wall = time.perf_counter() - t0
    log(f"[work-precision] {label}: {wall:.1f} s wall ({chunk} cells per process, "
        f"{workers} at a time)")
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        _save_spikes(path, spikes)
    return spikes, wall


# --- analysis -------------------------------------------------------------------------------

def accuracy(ref_spikes, spikes, duration):
    """Γ (pooled and mean over cells), precision, recall, rate error vs the reference."""
    from .metrics import compare
    agg = compare({"spikes": ref_spikes}, {"spikes": spikes}, GRID, duration)["aggregate"]
    return {k: agg[k] for k in ("gamma", "gamma_mean", "precision", "recall",
                                "rate_ref_hz", "rate_test_hz", "rate_error_pct",
                                "gamma_excluded_cells")}


def matched_time(points, target_gamma):
    """Run time of a curve at ``target_gamma``, by interpolation.

    ``points``: (Γ, run time) of one simulator's configurations, ordered from the
    cheapest to the most expensive (coarsest dt / loosest tolerance first). Walking
    along the curve, the first segment whose Γ range contains ``target_gamma`` is
    interpolated linearly in log(run time) against log(1 − Γ). Returns a dict with
    ``time`` (None when the target is outside the curve), ``status`` (``"matched"``;
    ``"more accurate everywhere"``: even the cheapest point has Γ ≥ target, and
    ``bound`` is its time, an upper bound of the matched time; ``"less accurate
    everywhere"``: no point reaches the target, ``bound`` is the most expensive
    point's time, a lower bound) and ``segment`` (the two points' indices).
    """
    pts = [(float(g), float(t)) for g, t in points
           if g is not None and t is not None and np.isfinite(g) and np.isfinite(t) and t > 0]
    if not pts:
        return {"time": None, "status": "no points", "bound": None, "segment": None}
    if pts[0][0] >= target_gamma:
        return {"time": None, "status": "more accurate everywhere", "bound": pts[0][1],
                "segment": None}
    for i in range(len(pts) - 1):
        (g0, t0), (g1, t1) = pts[i], pts[i + 1]
        if (g0 - target_gamma) * (g1 - target_gamma) <= 0 and g0 != g1:
            e0, e1, e = (max(1.0 - g, 1e-12) for g in (g0, g1, target_gamma))
            if e0 == e1:
                return {"time": t0, "status": "matched", "bound": None, "segment": [i, i + 1]}
            f = (math.log(e) - math.log(e0)) / (math.log(e1) - math.log(e0))
            t = math.exp(math.log(t0) + f * (math.log(t1) - math.log(t0)))
            return {"time": t, "status": "matched", "bound": None, "segment": [i, i + 1]}
    return {"time": None, "status": "less accurate everywhere", "bound": pts[-1][1],
            "segment": None}


def _order_key(cfg):
    """Cheapest first within a family: coarse dt / loose tolerance first."""
    return -cfg["x"]


def families(results):
    """{family: [result, ...]} of successful runs, each curve ordered cheapest first."""
    out = {}
    for r in results:
        if r.get("error") or r.get("gamma") is None:
            continue
        out.setdefault(r["family"], []).append(r)
    for fam in out.values():
        fam.sort(key=lambda r: _order_key(parse_label(r["label"])))
    return out


def summarise(results, ann_label=None):
    """Matched NEURON run times at pyNN.ann's Γ, and the speed ratios.

    Returns {"ann": label, "ann_gamma", "ann_run_s", "ann_first_run_s", "matched":
    {family: {..., "ratio": matched time / ann run time}}}."""
    fams = families(results)
    anns = fams.get("ann", [])
    if ann_label:
        anns = [r for r in anns if r["label"] == ann_label]
    if not anns:
        return {"ann": None, "matched": {}}
    ann = anns[0]
    out = {"ann": ann["label"], "ann_gamma": ann["gamma"], "ann_run_s": ann["run_s"],
           "ann_first_run_s": ann.get("first_run_s"), "matched": {}}
    for fam, rs in fams.items():
        if fam == "ann":
            continue
        m = matched_time([(r["gamma"], r["run_s"]) for r in rs], ann["gamma"])
        m["labels"] = [r["label"] for r in rs]
        if m["segment"] is not None:
            m["between"] = [rs[i]["label"] for i in m["segment"]]
        t = m["time"] if m["time"] is not None else m["bound"]
        m["ratio"] = t / ann["run_s"] if t is not None else None
        m["ratio_with_compile"] = (t / ann["first_run_s"]
                                   if t is not None and ann.get("first_run_s") else None)
        out["matched"][fam] = m
    return out


def _f(x, fmt):
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else fmt.format(x)


def markdown(results, summary):
    """The results table and the matched-accuracy table (Markdown)."""
    from .report import markdown_table
    rows = []
    for r in results:
        if r.get("error"):
            rows.append([r["label"], "failed: " + r["error"].replace("|", "/")[:100]]
                        + [""] * 10)
            continue
        times = r.get("run_s_all") or [r["run_s"]]
        rows.append([r["label"], _f(r["gamma"], "{:.3f}"), _f(r["gamma_mean"], "{:.3f}"),
                     _f(r["precision"], "{:.3f}"), _f(r["recall"], "{:.3f}"),
                     _f(r["rate_error_pct"], "{:+.1f}"),
                     _f(r["run_s"], "{:.2f}"),
                     " / ".join(f"{t:.2f}" for t in times),
                     _f(r.get("run_cpu_s"), "{:.2f}"), _f(r.get("best_load"), "{:.1f}"),
                     _f(r.get("compile_s"), "{:.1f}"),
                     _f(r["run_s"] / summary["ann_run_s"] if summary.get("ann_run_s") else None,
                        "{:.2f}")])
    out = markdown_table(["configuration", "Γ (2 ms)", "mean Γ", "precision", "recall",
                          "rate error (%)", "run time (s)", "all rounds (s)",
                          "run CPU (s)", "load", "compile (s)", "run time / ann"], rows)
    if summary.get("matched"):
        mrows = []
        for fam, m in summary["matched"].items():
            if m["status"] == "matched":
                where = "between " + " and ".join(m["between"])
                t = _f(m["time"], "{:.2f}")
                ratio = _f(m["ratio"], "{:.2f}")
            elif m["status"] == "more accurate everywhere":
                where = f"cheapest point {m['labels'][0]} already has Γ ≥ ann's"
                t, ratio = "≤ " + _f(m["bound"], "{:.2f}"), "≤ " + _f(m["ratio"], "{:.2f}")
            elif m["status"] == "less accurate everywhere":
                where = f"no point reaches ann's Γ (finest: {m['labels'][-1]})"
                t, ratio = "> " + _f(m["bound"], "{:.2f}"), "> " + _f(m["ratio"], "{:.2f}")
            else:
                where, t, ratio = m["status"], "–", "–"
            mrows.append([fam, where, t, ratio])
        out += ("\n\nNEURON run time at pyNN.ann's Γ = "
                f"{summary['ann_gamma']:.3f} ({summary['ann']}, run time "
                f"{summary['ann_run_s']:.2f} s without compilation), interpolated in "
                "log(run time) against log(1 − Γ):\n\n"
                + markdown_table(["NEURON", "where", "run time at ann's Γ (s)",
                                  "NEURON / ann"], mrows))
    return out


def plot(results, summary, path, title=None):
    """Log-log work–precision diagram: run time against 1 − Γ, one curve per family."""
    from .report import _plt
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    fams = families(results)
    markers = {"ann": "*", "neuron fixed step": "o", "neuron CVODE (local dt)": "s",
               "neuron CVODE": "D", "nest fixed step": "^"}
    colors = {"ann": "C3", "neuron fixed step": "C0", "neuron CVODE (local dt)": "C2",
              "neuron CVODE": "C4", "nest fixed step": "C1"}
    for j, (fam, rs) in enumerate(fams.items()):
        err = [max(1.0 - r["gamma"], 1e-4) for r in rs]
        t = [r["run_s"] for r in rs]
        color = colors.get(fam, f"C{5 + j}")
        label = "pyNN." + fam if not fam.startswith("ann") else "pyNN.ann (no compilation)"
        ax.plot(err, t, marker=markers.get(fam, "o"), ms=12 if fam == "ann" else 6,
                ls="-" if len(rs) > 1 else "none", color=color, label=label)
        for r, e, tt in zip(rs, err, t):
            x = parse_label(r["label"])["x"]
            text = f"dt {x:g}" if r["label"].split("-")[1].startswith("dt") else f"tol {x:g}"
            ax.annotate(text, (e, tt), textcoords="offset points", xytext=(5, 3), fontsize=7,
                        color=color)
        if fam == "ann" and rs[0].get("first_run_s"):
            ax.plot([err[0]], [rs[0]["first_run_s"]], marker="*", ms=12, mfc="none",
                    color=color, ls="none", label="pyNN.ann incl. XLA compilation")
    if summary.get("ann_gamma") is not None:
        e_ann = max(1.0 - summary["ann_gamma"], 1e-4)
        ax.axvline(e_ann, color="C3", ls=":", lw=1)
        for fam, m in summary["matched"].items():
            if m.get("time"):
                ax.plot([e_ann], [m["time"]], marker="x", ms=9, color="k", ls="none",
                        label=f"{fam} at pyNN.ann's Γ (interpolated)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import FixedLocator, NullFormatter, StrMethodFormatter
    lo, hi = ax.get_xlim()
    ticks = [t for t in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
             if min(lo, hi) <= t <= max(lo, hi)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.invert_xaxis()  # more accurate to the right
    ax.set_xlabel("1 − Γ (Δ = 2 ms) against the converged run  (→ more accurate)")
    ax.set_ylabel("run time (s)")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2,
              frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- driver --------------------------------------------------------------------------------

def _parser(prog):
    p = argparse.ArgumentParser(prog=prog, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--celltype", default="HH_cond_exp", choices=sorted(POISSON_DRIVE))
    p.add_argument("--inputs", default="poisson",
                   help="poisson (default), heldout-standard or heldout-high_conductance")
    p.add_argument("--drive", action="append", default=[], metavar="KEY=VALUE",
                   help="poisson inputs: override exc_rate=LO:HI, inh_rate=LO:HI (Hz), "
                        "exc_weight, inh_weight (uS); defaults per cell type: "
                        + "; ".join(f"{ct}: " + ", ".join(
                            f"{k}={_drive_value(v)}" for k, v in d.items())
                            for ct, d in POISSON_DRIVE.items()))
    p.add_argument("-n", "--cells", type=int, default=1000, help="N cells (default 1000)")
    p.add_argument("--duration", type=float, default=1000.0, help="ms (default 1000)")
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="input seed")
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                   help="timed configurations, comma-separated: ann-dt<dt>, neuron-dt<dt>, "
                        "neuron-lcvode<tol>, neuron-cvode<tol>, nest-dt<dt>")
    p.add_argument("--repeats", type=int, default=2,
                   help="timing rounds (alternating order); run time = minimum")
    p.add_argument("--repeat-max-s", type=float, default=60.0,
                   help="rounds after the first skip a configuration whose first run took "
                        "longer than this (s); 0: repeat everything")
    p.add_argument("--reference", default=REFERENCE, help="converged reference configuration")
    p.add_argument("--check", default=",".join(CHECKS),
                   help="configurations checking the reference's convergence, "
                        "comma-separated ('' to skip)")
    p.add_argument("--check-cells", type=int, default=100,
                   help="cells (the first ones) for the convergence check")
    p.add_argument("--chunk", type=int, default=10,
                   help="cells per process for global-CVODE reference/check runs")
    p.add_argument("--workers", type=int, default=2, help="reference processes at a time")
    p.add_argument("--timeout", type=float, default=1800.0, help="s per timed run")
    p.add_argument("--output", default="work_precision", help="output folder")
    p.add_argument("--cache", default=None,
                   help="folder caching reference runs (default "
                        "$XDG_CACHE_HOME/pyNN_ann/work_precision or "
                        "~/.cache/pyNN_ann/work_precision)")
    p.add_argument("--replot", action="store_true",
                   help="only rewrite OUTPUT/work_precision.md and .png from "
                        "OUTPUT/work_precision.json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-protocol", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    p.add_argument("--child-warm", type=int, default=None, help=argparse.SUPPRESS)
    return p


def _drive_text(drive):
    def rng(r):
        return f"{r[0]:g}–{r[1]:g} Hz" if r[0] != r[1] else f"{r[0]:g} Hz"
    return (f"rates log-uniform per cell, excitatory {rng(drive['exc_rate'])} × "
            f"{drive['exc_weight'] * 1000:g} nS, inhibitory {rng(drive['inh_rate'])} × "
            f"{drive['inh_weight'] * 1000:g} nS")


def write_report(output, saved):
    """work_precision.md and .png in ``output`` from the saved results (the JSON's
    content: settings, convergence_check, results, summary)."""
    st, results, summary = saved["settings"], saved["results"], saved["summary"]
    plot(results, summary, os.path.join(output, "work_precision.png"),
         title=_title(st["cells"], st["celltype"], st["inputs"], st["duration_ms"],
                      st["cpu_count"]))
    rates = st["mean_input_rates_hz"]
    drive = f"; {_drive_text(st['drive'])}" if st.get("drive") else ""
    ref_rate = next((r["rate_ref_hz"] for r in results if "rate_ref_hz" in r), float("nan"))
    excluded = next((r["gamma_excluded_cells"] for r in results
                     if "gamma_excluded_cells" in r), None)
    lines = [f"# Work–precision: {st['celltype']}, {st['inputs']} inputs", "",
             f"    {st['command']}", "",
             f"{st['cells']} unconnected {st['celltype']} cells, {st['duration_ms']:g} ms, each "
             "driven by its own excitatory and inhibitory SpikeSourceArray (the same trains on "
             f"every simulator; mean {rates['exc']:.0f} / {rates['inh']:.0f} Hz per cell"
             f"{drive}), spikes recorded. Γ: coincidence factor (Δ = 2 ms, pooled over cells; "
             "'mean Γ': mean over cells) against the converged run "
             f"`{st['reference']}` (mean rate {ref_rate:.2f} Hz"
             + (f"; {excluded} cells silent in both runs carry no weight in Γ"
                if excluded else "") + ")."]
    for chk in saved.get("convergence_check") or []:
        lines += ["", f"Convergence of the reference: `{chk['label']}` against "
                  f"`{st['reference']}` on the first {chk['cells']} cells: Γ = "
                  f"{chk['gamma']:.4f}, precision {chk['precision']:.4f}, recall "
                  f"{chk['recall']:.4f}, rate error {chk['rate_error_pct']:+.2f} %."]
    once = [r["label"] for r in results
            if not r.get("error") and len(r.get("run_s_all", [])) < st["repeats"]]
    note = f" ({', '.join(once)}: fewer rounds, too slow to repeat)" if once else ""
    load0, load1 = st["load_avg_start"][0], st["load_avg_end"][0]
    lines += ["", f"Run time: `run()` only, minimum over {st['repeats']} rounds{note} in "
              "alternating order, each configuration in a fresh process; pyNN.ann: a second "
              "`run()` after `reset()` (no XLA compilation; compile = first run − second "
              "run). `neuron-lcvode<tol>`: CVODE with NEURON's local time step "
              "(`h.CVode().use_local_dt(1)`), rtol = atol = tol. "
              "run CPU: process CPU time during that run (all threads); load: 1-min load "
              "average when that run started (other users' jobs included). "
              f"{st['cpu_count']} CPU cores; load {load0:.2f} at the start, {load1:.2f} at "
              "the end (every run's in the JSON).", "",
              markdown(results, summary), "", "![work-precision](work_precision.png)", ""]
    with open(os.path.join(output, "work_precision.md"), "w") as f:
        f.write("\n".join(lines))


def _drive_value(v):
    return ":".join(f"{x:g}" for x in v) if isinstance(v, tuple) else f"{v:g}"


def _title(cells, celltype, inputs, duration, cpus):
    return f"{cells} {celltype}, {inputs} inputs, {duration:g} ms; {cpus} CPU cores"


def _child_main(a):
    warm = None if a.child_warm is None else bool(a.child_warm)
    info, spikes = run_child(a.child_protocol, a.child, warm=warm)
    _save_spikes(a.child_out + ".npz", spikes)
    with open(a.child_out + ".json", "w") as f:
        json.dump(info, f)
    return info


def main(argv=None, prog=None):
    p = _parser(prog or "pynn-ann work-precision")
    a = p.parse_args(argv)
    if a.child:
        return _child_main(a)
    if a.replot:
        with open(os.path.join(a.output, "work_precision.json")) as f:
            saved = json.load(f)
        write_report(a.output, saved)
        return saved
    configs = [c for c in a.configs.split(",") if c]
    checks = [c for c in a.check.split(",") if c]
    for c in configs + [a.reference] + checks:
        parse_label(c)  # fail early on a typo
    if any(parse_label(c)["backend"] == "neuron" for c in configs + [a.reference]):
        from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
        ensure_neuron_mechanisms()
    command = " ".join([p.prog] + (sys.argv[1:] if argv is None else list(argv)))
    drive = parse_drive(a.drive)
    protocol = make_protocol(a.inputs, a.celltype, a.cells, a.duration, a.seed, drive)
    cache = a.cache or default_cache()
    started, load0 = time.perf_counter(), os.getloadavg()
    print(f"[work-precision] {a.cells} {a.celltype} cells, inputs {a.inputs}, "
          f"{a.duration:g} ms, protocol {protocol_key(protocol)}; load {load0[0]:.2f}",
          flush=True)

    ref, ref_wall = cached_reference(protocol, a.reference, cache, a.chunk, a.workers)
    check = []
    sub = protocol.subset(np.arange(min(a.check_cells, protocol.size)))
    for label in checks:
        chk, chk_wall = cached_reference(sub, label, cache, a.chunk, a.workers)
        check.append(dict(accuracy(chk, ref[:sub.size], a.duration), label=label,
                          reference=a.reference, cells=sub.size, wall_s=chk_wall))
        print(f"[work-precision] convergence: {a.reference} vs {label} on {sub.size} "
              f"cells: Γ = {check[-1]['gamma']:.4f}, rate error "
              f"{check[-1]['rate_error_pct']:+.2f} %", flush=True)

    rounds = {c: [] for c in configs}
    spikes_of = {}
    for k in range(a.repeats):
        order = configs if k % 2 == 0 else configs[::-1]
        for c in order:
            if k and a.repeat_max_s and (not rounds[c] or rounds[c][0].get("error")
                                         or rounds[c][0]["run_s"] > a.repeat_max_s):
                continue
            print(f"[work-precision] round {k + 1}/{a.repeats} {c} ...", flush=True)
            info, spikes = run_in_subprocess(protocol, c, timeout=a.timeout)
            rounds[c].append(info)
            if spikes is None:
                print(f"  FAILED: {info['error']}\n{info.get('stderr', '')[-1500:]}", flush=True)
                continue
            if c not in spikes_of:
                spikes_of[c] = spikes
            else:  # deterministic: every round must give the same spikes
                info["same_spikes_as_round_1"] = all(
                    np.array_equal(x, y) for x, y in zip(spikes_of[c], spikes))
            print(f"  run {info['run_s']:.2f} s"
                  + (f" (first run incl. compilation {info['first_run_s']:.2f} s)"
                     if "warm_run_s" in info else "")
                  + f", load {info['load_avg_1min'][0]:.2f}", flush=True)

    results = []
    for c in configs:
        ok = [r for r in rounds[c] if not r.get("error")]
        cfg = parse_label(c)
        if not ok:
            results.append({"label": c, "family": cfg["family"],
                            "error": rounds[c][0].get("error", "failed")})
            continue
        best = min(ok, key=lambda r: r["run_s"])
        res = {"label": c, "family": cfg["family"], "x": cfg["x"],
               "run_s": best["run_s"], "run_s_all": [r["run_s"] for r in ok],
               "run_cpu_s": best["run_cpu_s"], "build_s": best["build_s"],
               "first_run_s": min(r["first_run_s"] for r in ok) if "warm_run_s" in best else None,
               "compile_s": (min(r["first_run_s"] for r in ok) - best["run_s"])
               if "warm_run_s" in best else None,
               "deterministic": all(r.get("same_spikes_as_round_1", True) for r in ok)
               and all(r.get("warm_identical", True) for r in ok),
               "load_avg_1min": [r["load_avg_1min"] for r in ok],
               "best_load": best["load_avg_1min"][0]}
        res.update(accuracy(ref, spikes_of[c], a.duration))
        results.append(res)

    summary = summarise(results)
    table = markdown(results, summary)
    print("\n" + table)
    load1 = os.getloadavg()
    os.makedirs(a.output, exist_ok=True)
    settings = {"command": command, "celltype": a.celltype, "inputs": a.inputs,
                "cells": a.cells, "duration_ms": a.duration, "seed": a.seed,
                "protocol_key": protocol_key(protocol), "configs": configs,
                "repeats": a.repeats, "reference": a.reference,
                "reference_wall_s": ref_wall, "cpu_count": os.cpu_count(),
                "load_avg_start": load0, "load_avg_end": load1,
                "total_wall_s": time.perf_counter() - started,
                "mean_input_rates_hz": {
                    "exc": float(np.mean([len(s) for s in protocol.exc_spikes])
                                 / a.duration * 1000.0),
                    "inh": float(np.mean([len(s) for s in protocol.inh_spikes])
                                 / a.duration * 1000.0)}}
    if a.inputs == "poisson":
        settings["drive"] = dict(POISSON_DRIVE[a.celltype], **drive)
    with open(os.path.join(a.output, "work_precision.json"), "w") as f:
        json.dump({"settings": settings, "convergence_check": check, "results": results,
                   "rounds": rounds, "summary": summary}, f, indent=1, default=float)
    write_report(a.output, {"settings": settings, "convergence_check": check,
                            "results": results, "summary": summary})
    print(f"\nwritten: {a.output}/work_precision.md, .json, .png")
    return {"results": results, "summary": summary, "convergence_check": check}


if __name__ == "__main__":
    main()
