"""repayguard: decide, enforce, explain and govern per-borrower repayment-method controls.

The notebook API (``load_policy``, ``decide``, ``features``, ``load_model``; see
docs/python-api.md) is imported on first use, so ``import repayguard`` loads nothing else.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from repayguard.notebook import (
        FrameModel,
        FramePolicy,
        decide,
        features,
        load_model,
        load_policy,
    )

__all__ = [
    "FrameModel",
    "FramePolicy",
    "__version__",
    "decide",
    "features",
    "load_model",
    "load_policy",
]
_NOTEBOOK = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _NOTEBOOK:
        return getattr(importlib.import_module("repayguard.notebook"), name)
    if name == "errors":  # ``except repayguard.errors.PolicyInputsInvalid`` after a bare import
        return importlib.import_module("repayguard.errors")
    raise AttributeError(f"module 'repayguard' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
