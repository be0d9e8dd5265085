"""API shapes of the model registry (response DTOs), apart from ORM rows and core models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from repayguard.platform.dto import Schema
from repayguard.platform.records import record_of
from repayguard.risk.lifecycle import ModelDetails, RegisteredModel


class ModelVersionRead(Schema):
    version: str = Field(description="The registered model version.", examples=["gbm-2026-02"])
    kind: str = Field(description="scorecard or lightgbm")
    state: str = Field(description="candidate, production or retired")
    created_at: datetime = Field(description="When it was registered.")
    created_by: str = Field(description="Who registered it.")
    source: str = Field(description="The event store, event files or the analyst's table.")
    target: str = Field(description="The outcome the model predicts.")
    training_from: datetime | None = Field(description="First training as-of date.")
    training_until: datetime | None = Field(description="Last training as-of date.")
    metrics: dict[str, Any] = Field(description="Headline metrics and what they were measured on.")
    card_sha256: str = Field(description="sha256 of the model card, pinned at registration.")
    promoted_at: datetime | None = Field(description="When it went to production, if it did.")
    promoted_by: str | None = Field(description="Who promoted it, if anyone.")

    @classmethod
    def of(cls, model: RegisteredModel) -> ModelVersionRead:
        return record_of(cls, model)


class ModelPage(Schema):
    items: list[ModelVersionRead] = Field(description="The registered versions.")


class StateChangeRead(Schema):
    from_state: str = Field(description="The state before.", examples=["candidate"])
    to_state: str = Field(description="The state after.", examples=["production"])
    actor: str = Field(description="Who changed it.")
    at: datetime = Field(description="When.")
    note: str = Field(description="The note given with the change.")


class ModelCardRead(Schema):
    model: ModelVersionRead = Field(description="The version.")
    card: dict[str, Any] = Field(description="The verified model card (files pinned by sha256).")
    history: list[StateChangeRead] = Field(description="Its state changes, oldest first.")

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
