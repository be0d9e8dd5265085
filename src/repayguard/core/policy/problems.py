"""What is wrong with a policy document: one problem per finding, all reported at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One finding about a policy.

    ``row_id`` names the decision-table row (None for document-level problems), ``field`` the
    place inside the row or document (``when.tier``, ``then.manual_channels``, ``inputs``...),
    ``counter_example`` an input (policy input name -> value) that demonstrates the problem.
    """

    row_id: str | None
    field: str
    message: str
    counter_example: Mapping[str, Any] | None = None

    def __str__(self) -> str:
        where = f"row {self.row_id!r}, " if self.row_id is not None else ""
        example = f" (e.g. {dict(self.counter_example)})" if self.counter_example else ""
        return f"{where}{self.field}: {self.message}{example}"


class PolicyInvalid(ValueError):
    """A policy refused at load time; ``problems`` lists every finding, not just the first."""

    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        self.problems: tuple[PolicyProblem, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the policy has {len(self.problems)} problem(s):\n{lines}")
