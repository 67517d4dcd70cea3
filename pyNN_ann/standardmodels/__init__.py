"""
Standard models of the pyNN.ann backend.

``cells`` and ``synapses`` hold the models that pyNN.ann can run. Standard PyNN
models it cannot run yet are exported as placeholders made by :func:`unavailable`,
whose construction raises a clear ``NotImplementedError``.
"""

from pyNN.standardmodels import ModelNotAvailable


def unavailable(name, reason):
    """Return a placeholder class `name` whose construction raises NotImplementedError."""
    message = f"pyNN.ann {reason}"

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(message)

    return type(name, (ModelNotAvailable,), {"__init__": __init__, "__doc__": message})


_NO_CURRENT_SOURCES = ("does not support current injection ({}) yet; "
                       "use the i_offset parameter or Poisson/array spike sources")

DCSource = unavailable("DCSource", _NO_CURRENT_SOURCES.format("DCSource"))
ACSource = unavailable("ACSource", _NO_CURRENT_SOURCES.format("ACSource"))
StepCurrentSource = unavailable("StepCurrentSource",
                                _NO_CURRENT_SOURCES.format("StepCurrentSource"))
NoisyCurrentSource = unavailable("NoisyCurrentSource",
                                 _NO_CURRENT_SOURCES.format("NoisyCurrentSource"))
