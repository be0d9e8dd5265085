"""The messages the model registry emits: a model version registered, a version promoted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from repayguard.platform.messages import Fact, JSONValue


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRegistered(Fact):
    """A trained version and its card, pinned by the card's hash, with its headline figures."""

    NAME = "repayguard.model.registered"

    version: str
    kind: str
    card_sha256: str
    created_by: str
    metrics: dict[str, JSONValue]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPromoted(Fact):
    """The version now in production, and the one it replaced (every process switches)."""

    NAME = "repayguard.model.promoted"

    version: str
    kind: str
    previous: str | None
    promoted_by: str
    note: str


MODEL_REGISTERED: Final = ModelRegistered.NAME
MODEL_PROMOTED: Final = ModelPromoted.NAME
