"""HTTP endpoints of decisions: what would change a borrower's outcome."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import Field

from repayguard.core.policy.counterfactual import WHY_NONE
from repayguard.decisions.outlook import what_would_change
from repayguard.platform.dto import BorrowerKey, Schema
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["decisions"])


class ChangeRead(Schema):
    input: str = Field(description="The policy input that would change.")
    from_: Any = Field(alias="from", description="Its value now.")
    to: Any = Field(description="The value that would change the outcome.")
    derived: bool = Field(
        default=False, description="Follows from the other changes (the risk tier, the PD)."
    )


class SuggestionRead(Schema):
    changes: list[ChangeRead] = Field(description="The input changes, together.")
    rule_id: str = Field(description="The policy row that would decide then.")
    loosens: list[str] = Field(description="The methods it would give back.")
    distance: float = Field(description="How large the change is (smallest first).")


class WhatWouldChangeRead(Schema):
    """Smallest changes first (actionable inputs only); when none, why not."""

    borrower_id: BorrowerKey = Field(description="The borrower.", examples=["B-1042"])
    decision_id: str = Field(description="The decision in force.")
    rule_id: str = Field(description="The policy row that decided it.")
    suggestions: list[SuggestionRead] = Field(description="What would change the outcome.")
    why_none: str | None = Field(description="A code saying why nothing would, if nothing would.")
    why_none_text: str | None = Field(description="That reason in words.")


@router.get("/v1/borrowers/{borrower_id}/what-would-change", response_model=WhatWouldChangeRead)
def borrower_what_would_change(
    borrower_id: BorrowerKey,
    request: Request,
    work: UnitsOfWork,
    accept_language: Annotated[str | None, Header(alias="Accept-Language")] = None,
) -> WhatWouldChangeRead:
    """What would loosen the borrower's repayment methods, under the policy and model in
    force: changes of actionable inputs only (one or several), smallest first; or why none."""
    container = request.app.state.container
    found = what_would_change(borrower_id, uow=work(), engine=container.decision_engine)
    locale = "zh-CN" if accept_language and accept_language.lower().startswith("zh") else "en"
    why = found.counterfactual.why_none
    return WhatWouldChangeRead(
        borrower_id=borrower_id,
        decision_id=found.decision_id,
        rule_id=found.rule_id,
        suggestions=[
            SuggestionRead.model_validate({k: v for k, v in a.as_dict().items() if k != "states"})
            for a in found.counterfactual.alternatives
        ],
        why_none=why,
        why_none_text=WHY_NONE[why][locale] if why else None,
    )
