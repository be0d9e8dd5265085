"""API shapes of the model registry (response DTOs), apart from ORM rows and core models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from repayguard.platform.dto import Schema
from repayguard.platform.records import record_of
from repayguard.risk.lifecycle import ModelDetails, RegisteredModel


class ModelVersionRead(Schema):
    version: str
    kind: str = Field(description="scorecard or lightgbm")
    state: str = Field(description="candidate, production or retired")
    created_at: datetime
    created_by: str
    source: str = Field(description="The event store, event files or the analyst's table.")
    target: str
    training_from: datetime | None = Field(description="First training as-of date.")
    training_until: datetime | None = Field(description="Last training as-of date.")
    metrics: dict[str, Any] = Field(description="Headline metrics and what they were measured on.")
    card_sha256: str = Field(description="sha256 of the model card, pinned at registration.")
    promoted_at: datetime | None
    promoted_by: str | None

    @classmethod
    def of(cls, model: RegisteredModel) -> ModelVersionRead:
        return record_of(cls, model)


class ModelPage(Schema):
    items: list[ModelVersionRead]


class StateChangeRead(Schema):
    from_state: str
    to_state: str
    actor: str
    at: datetime
    note: str


class ModelCardRead(Schema):
    model: ModelVersionRead
    card: dict[str, Any] = Field(description="The verified model card (files pinned by sha256).")
    history: list[StateChangeRead]

    @classmethod
    def of(cls, details: ModelDetails) -> ModelCardRead:
        return cls(
            model=ModelVersionRead.of(details.model),
            card=details.card,
            history=[
                record_of(StateChangeRead, h)
                for h in details.history
            ],
        )  # fmt: skip
