"""The one base of every API DTO: unknown fields are refused, not silently dropped."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """Base of request and response bodies (apart from ORM rows and core frames)."""

    model_config = ConfigDict(extra="forbid")
