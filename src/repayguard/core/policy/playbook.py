"""Emergency playbooks: the YAML document of a pre-approved overlay, validated and checked.

A playbook says which segment an emergency overlay tightens (risk tiers, and optionally unary
tests in the policy cell language over the decision inputs), what it tightens (method ->
a state off the open one), why (reason codes of the catalogue), for how long at most, how soon
a second person must review it once armed, which incidents arm it, and the jurisdictions it
was checked for. :func:`check_playbook` is the static check at submission: each listed
jurisdiction's profile (G2) must leave the playbook something to tighten, and the tightening
can never take a free manual channel away (G1 by construction: overlays change states, never
channels, and ``forced`` keeps the manual flow usable).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from repayguard.core.features import FEATURE_NAMES
from repayguard.core.policy.cells import CellSyntaxError, parse_cell
from repayguard.core.policy.jurisdiction import JurisdictionProfile
from repayguard.core.policy.outcome import OPEN, RANK
from repayguard.core.reasons import is_known

TIERS = ("T1", "T2", "T3", "T4", "T5")
SEGMENT_INPUTS = frozenset({*FEATURE_NAMES, "pd"})
"""Numeric inputs a segment's ``when`` tests may name: the declared features and the PD."""


class PlaybookInvalid(ValueError):
    """A playbook document that does not load or breaks a guardrail; ``findings`` name the
    offending key each."""

    def __init__(self, findings: list[str]) -> None:
        self.findings = findings
        super().__init__("playbook refused: " + "; ".join(findings))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(_Strict):
    """Who an overlay reaches: borrowers in ``tiers`` whose inputs pass every ``when`` test."""

    tiers: Annotated[tuple[Literal["T1", "T2", "T3", "T4", "T5"], ...], Field(min_length=1)]
    when: dict[str, str] = Field(default_factory=dict)

    @field_validator("when")
    @classmethod
    def _cells(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if name not in SEGMENT_INPUTS:
                raise ValueError(f"{name!r} is not a numeric decision input (features or pd)")
            try:
                parse_cell(text)
            except CellSyntaxError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value


class ArmOn(_Strict):
    """An incident that arms the playbook: ``repayguard.monitoring.incident_opened`` with this
    metric, segment and direction."""

    metric: Annotated[str, Field(min_length=1)]
    segment: Annotated[str, Field(min_length=1)]
    direction: Literal["up", "down"]


class Playbook(_Strict):
    """One version of an emergency playbook (see the module docstring)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    version: Annotated[int, Field(ge=1)]
    description: Annotated[str, Field(min_length=1)]
    segment: Segment
    tighten: Annotated[
        dict[Literal["auto_debit", "early_repayment", "manual"], str], Field(min_length=1)
    ]
    reasons: Annotated[tuple[str, ...], Field(min_length=1, max_length=4)]
    max_duration_hours: Annotated[int, Field(ge=1, le=24 * 90)]
    review_within_hours: Annotated[int, Field(ge=1)]
    arm_on: tuple[ArmOn, ...] = ()
    jurisdictions: Annotated[tuple[Literal["CN", "EU", "UK", "US"], ...], Field(min_length=1)]

    @field_validator("tighten")
    @classmethod
    def _tighter(cls, value: dict[str, str]) -> dict[str, str]:
        for method, state in value.items():
            if state not in RANK[method]:
                raise ValueError(f"{method}: {state!r} is not a state ({sorted(RANK[method])})")
            if state == OPEN[method]:
                raise ValueError(f"{method}: {state!r} is the open state; an overlay only tightens")
        return value

    @field_validator("reasons")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [code for code in value if not is_known(code)]
        if unknown:
            raise ValueError(f"{unknown} are not in the reason catalogue")
        return value

    @property
    def max_days(self) -> int:
        """The longest restriction an overlay sets, in whole days (G4: its expiry)."""
        return -(-self.max_duration_hours // 24)

    def canonical(self) -> bytes:
        """The document as canonical JSON: what the hash pins and approval applies."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def allowed(self, profile: JurisdictionProfile | None) -> dict[str, str]:
        """The tightening a jurisdiction lets through: "where the jurisdiction allows" drops a
        part the profile forbids (G2) instead of refusing the whole overlay."""
        return allowed_parts(self.tighten.items(), profile)


def allowed_parts(
    tighten: Iterable[tuple[str, str]], profile: JurisdictionProfile | None
) -> dict[str, str]:
    """``tighten`` (method, state) without the parts ``profile`` forbids (G2)."""
    banned = profile.forbidden() if profile is not None else {}
    return {m: s for m, s in tighten if s not in banned.get(m, {})}


def load_playbook(text: str) -> Playbook:
    """Parse and validate one playbook document (YAML); errors name the offending key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookInvalid([f"not YAML: {exc}"]) from None
    if not isinstance(data, Mapping):
        raise PlaybookInvalid(["the document must be a mapping of keys (name, version, …)"])
    return playbook_of(data)


def playbook_of(data: Mapping[str, Any]) -> Playbook:
    """A playbook from its parsed form (a stored canonical document or YAML)."""
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        raise PlaybookInvalid(
            [
                f"{'.'.join(str(p) for p in err['loc']) or '(document)'}: {err['msg']}"
                for err in exc.errors()
            ]
        ) from None


def check_playbook(playbook: Playbook, profiles: Mapping[str, JurisdictionProfile]) -> list[str]:
    """Static G1/G2 findings over every jurisdiction the playbook lists (empty: it passes).

    G2: a part a profile forbids is skipped there, but a playbook left with nothing to tighten
    in a listed jurisdiction is refused (it could never act there). The review deadline must
    fall within the overlay's life, or it would lapse only after it had expired.
    """
    findings: list[str] = []
    for code in playbook.jurisdictions:
        profile = profiles.get(code)
        if profile is None:
            findings.append(f"jurisdictions: no profile {code!r} is known")
            continue
        if not playbook.allowed(profile):
            forbidden = ", ".join(f"{m} {s}" for m, s in playbook.tighten.items())
            findings.append(
                f"tighten: under {code} the jurisdiction profile forbids every part "
                f"({forbidden}); remove {code} from jurisdictions or tighten something it allows"
            )
    if playbook.review_within_hours > playbook.max_duration_hours:
        findings.append(
            f"review_within_hours: {playbook.review_within_hours} h is after the overlay "
            f"expires ({playbook.max_duration_hours} h)"
        )
    return findings
