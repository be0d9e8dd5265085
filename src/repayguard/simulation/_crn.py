"""Common random numbers: every borrower-month's uniform draws, keyed by what they are for.

A block of uniforms is drawn from a counter-based generator (Philox) whose key is
``(seed, month, purpose)``; borrower ``i`` reads row ``i`` of the block, which Philox places
at a fixed position of the stream. So a borrower's draws depend only on
``(seed, borrower, month, purpose)`` — never on the policy arm, on how many other borrowers
needed a draw that day, or on the order mechanisms ran in. Two arms of a comparison therefore
meet the same job losses, the same spending and the same coin flips, and differ only where
their repayment methods make a borrower act differently.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

DAILY: Final = (
    "shock", "spend", "willing", "tech", "early", "draw", "draw_size", "apply", "approve",
    "behaviour", "clock",
)  # fmt: skip
"""Purposes drawn once per borrower and day (31 columns per month)."""
MONTHLY: Final = (
    "ontime", "delay", "income_a", "income_b", "bureau_a", "bureau_b", "medical_a",
    "medical_b", "medical_len", "job_len", "give_up", "review", "early_size", "redraw_day",
    "redraw_size", "loan_size", "switch", "link", "complaint", "channel",
)  # fmt: skip
"""Purposes drawn once per borrower and month."""
_DAYS: Final = 31
_SLOT: Final = 64  # purposes per month in the key space


class Draws:
    """The uniforms of one month, for ``n`` borrowers; ``load`` moves to another month."""

    __slots__ = ("_daily", "_monthly", "month", "n", "seed")

    def __init__(self, seed: int, n: int) -> None:
        self.seed, self.n, self.month = seed, n, -1
        self._daily: dict[str, NDArray[np.float32]] = {}
        self._monthly: dict[str, NDArray[np.float64]] = {}

    def _generator(self, month: int, purpose: int) -> np.random.Generator:
        key = np.array([self.seed, month * _SLOT + purpose], dtype=np.uint64)
        return np.random.Generator(np.random.Philox(key=key))

    def load(self, month: int) -> None:
        """Draw month ``month``'s blocks (borrower rows; daily ones stored day-major)."""
        self.month = month
        for p, name in enumerate(DAILY):
            block = self._generator(month, p).random((self.n, _DAYS), dtype=np.float32)
            self._daily[name] = np.ascontiguousarray(block.T)
        for p, name in enumerate(MONTHLY, start=len(DAILY)):
            self._monthly[name] = self._generator(month, p).random(self.n)

    def day(self, purpose: str, day_in_month: int) -> NDArray[np.float32]:
        """Every borrower's uniform for ``purpose`` on a day of the loaded month."""
        row: NDArray[np.float32] = self._daily[purpose][day_in_month]
        return row

    def monthly(self, purpose: str) -> NDArray[np.float64]:
        """Every borrower's uniform for ``purpose`` in the loaded month."""
        return self._monthly[purpose]

    def normal(self, a: str, b: str) -> NDArray[np.float64]:
        """Standard normal deviates from two monthly uniforms (Box–Muller)."""
        u1 = np.maximum(self._monthly[a], 1e-300)
        z: NDArray[np.float64] = np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * self._monthly[b])
        return z


def geometric(u: NDArray[np.float64], p: NDArray[np.float64] | float) -> NDArray[np.int64]:
    """Geometric deviates on {1, 2, …} with success probability ``p``, from uniforms."""
    q = np.log1p(-np.minimum(np.asarray(p, dtype=np.float64), 1 - 1e-12))
    k: NDArray[np.int64] = (1 + np.floor(np.log(np.maximum(1.0 - u, 1e-300)) / q)).astype(np.int64)
    return k
