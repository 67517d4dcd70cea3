"""The ``pynn-ann`` command.

    pynn-ann train CELLTYPE [...]      train a surrogate for a cell type
    pynn-ann validate [CELLTYPE ...]   single-cell accuracy against the converged reference
    pynn-ann benchmark [...]           network speed/accuracy benchmark (pyNN.ann vs others)
    pynn-ann work-precision [...]      run time vs accuracy against the converged run
    pynn-ann models                    list the surrogates shipped with this installation
    pynn-ann setup-reference           compile pyNN.neuron's NMODL mechanisms (once)

Everything after the sub-command is handed unchanged to that sub-command, so
``pynn-ann validate --help`` shows the validator's own options.  The modules behind the
sub-commands are imported only when the sub-command runs.
"""

import argparse
import importlib
import sys

# name -> (module, one-line help)
_DELEGATED = {
    "train": ("pyNN_ann.surrogates.training.train",
              "train a surrogate for a cell type (reference data from pyNN.neuron)"),
    "validate": ("pyNN_ann.validation.single_cell",
                 "single-cell accuracy of shipped surrogates against the converged reference"),
    "benchmark": ("pyNN_ann.validation.benchmark",
                  "network benchmark: run time and statistics, pyNN.ann vs other backends"),
    "work-precision": ("pyNN_ann.validation.work_precision",
                       "run time vs accuracy (Γ against the converged run), pyNN.ann vs "
                       "pyNN.neuron at several dt / CVODE tolerances"),
    "compare": ("pyNN_ann.validation.compare",
                "run one PyNN script on pyNN.ann and a reference backend; compare activity"),
}


def _delegate(name, module_name):
    def run(argv):
        import inspect
        main = importlib.import_module(module_name).main
        try:
            takes_prog = "prog" in inspect.signature(main).parameters
        except (TypeError, ValueError):
            takes_prog = False
        if takes_prog:
            return main(argv, prog=f"pynn-ann {name}")
        return main(argv)
    return run


def _models(argv):
    p = argparse.ArgumentParser(prog="pynn-ann models",
                                description="List the surrogates shipped with pyNN.ann.")
    p.add_argument("--json", action="store_true", help="print the full metadata as JSON")
    args = p.parse_args(argv)
    import json
    import os
    from pyNN_ann.surrogates import registry

    models = registry.shipped()  # directory -> (cell type, dt)
    names = list(models)
    models_dir = getattr(registry, "MODELS_DIR", None)

    def metadata(name):
        if models_dir is None:
            return {}
        path = os.path.join(models_dir, name, "metadata.json")
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    if args.json:
        print(json.dumps({name: metadata(name) for name in names}, indent=2, sort_keys=True))
        return 0
    if not names:
        print("no surrogates shipped" + (f" (looked in {models_dir})" if models_dir else ""))
        return 0
    for name in names:
        md = metadata(name)
        details = [f"dt={models[name][1]:g} ms"]
        if name != models[name][0]:
            details.append(f"surrogate {models[name][0]}")
        if "flops_per_step" in md:
            details.append(f"{md['flops_per_step']} FLOP/step")
        print(name + ("  (" + ", ".join(details) + ")" if details else ""))
        if md.get("celltypes"):
            print("    runs " + ", ".join(md["celltypes"]))
    if models_dir:
        print(f"\n{len(names)} surrogate(s) in {models_dir}")
    return 0


def _setup_reference(argv):
    p = argparse.ArgumentParser(
        prog="pynn-ann setup-reference",
        description="Compile pyNN.neuron's NMODL mechanisms (nrnivmodl), needed once after "
                    "installing PyNN before pyNN.neuron can be used as the reference "
                    "simulator. Does nothing if they are already compiled.")
    p.parse_args(argv)
    from pyNN_ann.reference_simulators import ensure_neuron_mechanisms
    try:
        path = ensure_neuron_mechanisms(quiet=False)
    except Exception as err:  # noqa: BLE001 - report, exit non-zero
        print(f"pynn-ann setup-reference: {err}", file=sys.stderr)
        return 1
    print(f"pyNN.neuron mechanisms ready in {path}")
    return 0


_LOCAL = {
    "models": (_models, "list the surrogates shipped with this installation"),
    "setup-reference": (_setup_reference,
                        "compile pyNN.neuron's NMODL mechanisms (needed once for the reference)"),
}


def _parser():
    p = argparse.ArgumentParser(
        prog="pynn-ann",
        description="pyNN.ann: PyNN backend with neural-network surrogate neurons.",
        epilog="Run 'pynn-ann COMMAND --help' for the options of a command.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in list(_DELEGATED.items()) + list(_LOCAL.items()):
        sub.add_parser(name, help=help_text, add_help=False)
    return p


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DELEGATED:
        handler = _delegate(argv[0], _DELEGATED[argv[0]][0])
    elif argv and argv[0] in _LOCAL:
        handler = _LOCAL[argv[0]][0]
    else:
        parser = _parser()
        if not argv:
            parser.print_help()
            return 2
        parser.parse_args(argv)   # --help, or an error for an unknown command
        return 2
    result = handler(argv[1:])
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
