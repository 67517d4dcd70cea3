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
