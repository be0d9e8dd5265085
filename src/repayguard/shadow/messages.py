"""The message shadow mode emits: the challenger set (which policy, by whom) or cleared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from repayguard.platform.messages import Fact, omitted_when_none, wire_key


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengerChanged(Fact):
    """Every process reloads its challenger. A set challenger names its policy and who set
    it; a cleared one, who cleared it (the other keys are absent, not null)."""

    NAME = "repayguard.shadow.challenger_changed"

    set_: bool = wire_key("set")
    name: str | None = omitted_when_none()
    version: str | None = omitted_when_none()
    content_hash: str | None = omitted_when_none()
    set_by: str | None = omitted_when_none()
    cleared_by: str | None = omitted_when_none()


CHALLENGER_CHANGED: Final = ChallengerChanged.NAME
