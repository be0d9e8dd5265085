"""The behavioural assumptions of the outcome simulator: one documented file, one frozen value.

Defaults live in ``resources/simulation/assumptions.yaml``; ``docs/simulation.md`` says where
each number comes from. A user's file may override any subset of them; an unknown key or a
value out of range is refused, so a typo never silently keeps a default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Final

from repayguard import resources
from repayguard.core.policy.safe_yaml import load_yaml

ASSUMPTIONS_RESOURCE: Final = "simulation/assumptions.yaml"


@dataclass(frozen=True, slots=True)
class Assumptions:
    """How borrowers react to their repayment methods (see docs/simulation.md)."""

    failed_debit_fee: float
    failed_debit_cost: float
    technical_failure: float
    mandatory_link_rate: float
    reminders: bool
    reminder_uplift: float
    switch_miss_prob: float
    cycle_rate: float
    give_up_base: float
    give_up_slope: float
    give_up_willingness: float
    default_dpd: int
    loss_given_default: float
    complaint_auto_debit_mandatory: float
    complaint_auto_debit_disabled: float
    complaint_early_repayment_restricted: float
    complaint_manual_forced: float

    def __post_init__(self) -> None:
        probabilities = (
            "technical_failure", "mandatory_link_rate", "reminder_uplift", "switch_miss_prob",
            "cycle_rate", "give_up_base", "give_up_willingness", "loss_given_default",
            "complaint_auto_debit_mandatory", "complaint_auto_debit_disabled",
            "complaint_early_repayment_restricted", "complaint_manual_forced",
        )  # fmt: skip
        for name in probabilities:
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} is a probability: it must be within [0, 1]")
        if min(self.failed_debit_fee, self.failed_debit_cost, self.give_up_slope) < 0:
            raise ValueError("fees, costs and slopes cannot be negative")
        if self.default_dpd < 1:
            raise ValueError("default_dpd must be at least 1")

    def as_dict(self) -> dict[str, Any]:
        """Every assumption by name (for reports: a run states what it assumed)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def with_(self, **changes: Any) -> Assumptions:
        """The same assumptions with some changed (checked again)."""
        return replace(self, **changes)


def _parse(text: str, base: Assumptions | None) -> Assumptions:
    data = load_yaml(text) or {}
    if not isinstance(data, dict):
        raise ValueError("an assumptions file is a mapping of name: value")
    known = {f.name: f.type for f in fields(Assumptions)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown assumptions {unknown}; known: {sorted(known)}")
    if base is None:
        missing = sorted(set(known) - set(data))
        if missing:
            raise ValueError(f"the default assumptions lack {missing}")
        return Assumptions(**data)
    return replace(base, **data)


def default_assumptions() -> Assumptions:
    """The shipped assumptions."""
    return _parse(resources.read_text(ASSUMPTIONS_RESOURCE), None)


def load_assumptions(path: Path | None = None) -> Assumptions:
    """The shipped assumptions, with a user's file (any subset of names) laid over them."""
    base = default_assumptions()
    if path is None:
        return base
    return _parse(path.read_text(encoding="utf-8"), base)
