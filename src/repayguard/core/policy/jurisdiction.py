"""Jurisdiction profiles (guardrail G2): which method states the law of a market rules out.

Profiles are data (``resources/jurisdictions/*.yaml``), read by the caller and passed in: the
core never opens a file. Each rule names a method, the states a policy may not give it, and
why, in plain language; a profile may also set a minimum advance notice for restrictions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from repayguard.core.policy.outcome import OPEN, RANK
from repayguard.core.policy.safe_yaml import load_yaml

Method = Literal["auto_debit", "early_repayment", "manual"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileRule(_Strict):
    """States ``method`` may never take in this jurisdiction, and the reason."""

    method: Method
    forbidden: Annotated[tuple[str, ...], Field(min_length=1)]
    why: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _known_states(self) -> ProfileRule:
        unknown = [s for s in self.forbidden if s not in RANK[self.method]]
        if unknown:
            raise ValueError(f"{unknown} are not states of {self.method}")
        if OPEN[self.method] in self.forbidden:
            raise ValueError(f"the open state {OPEN[self.method]!r} cannot be forbidden")
        return self


class JurisdictionProfile(_Strict):
    """The legal constraints of one market, as the policy checks and the runtime apply them."""

    code: Literal["CN", "EU", "UK", "US"]
    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    rules: tuple[ProfileRule, ...] = ()
    min_notice_days: Annotated[int, Field(ge=0, le=365)] = 0

    def forbidden(self) -> dict[str, dict[str, str]]:
        """method -> forbidden state -> why."""
        out: dict[str, dict[str, str]] = {}
        for rule in self.rules:
            for state in rule.forbidden:
                out.setdefault(rule.method, {})[state] = rule.why
        return out

    def violations(self, states: Mapping[str, Any]) -> list[str]:
        """Plain-language G2 findings for a set of method states (empty when compliant)."""
        found = []
        for method, banned in self.forbidden().items():
            state = states.get(method)
            if state in banned:
                found.append(f"{method} may not be {state!r} under {self.code}: {banned[state]}")
        return found


class ProfileInvalid(ValueError):
    """A jurisdiction profile document that does not load."""


def load_profile(text: str) -> JurisdictionProfile:
    """Parse and validate one profile document (YAML)."""
    try:
        return JurisdictionProfile.model_validate(load_yaml(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ProfileInvalid(f"jurisdiction profile does not load: {exc}") from exc


Profiles = Mapping[str, JurisdictionProfile]
"""Profiles by jurisdiction code."""
