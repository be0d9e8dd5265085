"""What is wrong with a policy document: one problem per finding, all reported at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
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
        example = f" (e.g. {self.example_json()})" if self.counter_example else ""
        return f"{where}{self.field}: {self.message}{example}"

    def example_json(self) -> dict[str, Any] | None:
        """The counter-example with JSON values (dates as ``YYYY-MM-DD``)."""
        if self.counter_example is None:
            return None
        return {
            k: v.isoformat() if isinstance(v, date) else v for k, v in self.counter_example.items()
        }

    def as_dict(self) -> dict[str, Any]:
        """The finding as JSON: row, field, message, counter-example."""
        return {
            "row_id": self.row_id,
            "field": self.field,
            "message": self.message,
            "counter_example": self.example_json(),
        }


class PolicyInvalid(ValueError):
    """A policy refused at load time; ``problems`` lists every finding, not just the first."""

    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        self.problems: tuple[PolicyProblem, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the policy has {len(self.problems)} problem(s):\n{lines}")
