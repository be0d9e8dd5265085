"""Money conventions of the simulation: line amounts in integer cents, round hundreds."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def hundreds(amount: NDArray[np.float64]) -> NDArray[np.int64]:
    """Whole hundreds of currency units, in cents (limits and drawdowns are round sums)."""
    cents: NDArray[np.int64] = (np.floor(amount / 100.0) * 10_000).astype(np.int64)
    return cents
