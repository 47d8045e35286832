"""A RouterOS API simulator speaking the real binary protocol (used by ``pantau demo`` and the tests)."""

from .simulator import RouterSimulator

__all__ = ["RouterSimulator"]
