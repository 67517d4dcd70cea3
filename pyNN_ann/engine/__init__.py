"""The engine: tensors and the compiled time loop (no PyNN objects)."""

from .network import Engine  # noqa: F401
