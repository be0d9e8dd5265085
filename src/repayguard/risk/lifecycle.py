"""Registered versions: list, show (verified card), load for scoring, promote to production."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from repayguard.core.features import FEATURE_NAMES
from repayguard.core.scoring import Profile, TrainedModel, load_model
from repayguard.errors import ApprovalPayloadChanged
from repayguard.platform.messages import Message
from repayguard.platform.records import record_of
from repayguard.platform.uow import UnitOfWork
from repayguard.risk import repository
from repayguard.risk.errors import (
    ModelArtefactTampered,
    ModelPromotionRefused,
    ModelVersionNotFound,
)
from repayguard.risk.messages import ModelPromoted
from repayguard.risk.models import ModelPromotionRow, ModelVersionRow
from repayguard.risk.registry import ModelRegistry, StoredModel


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A registered version as callers see it (not the ORM row)."""

    version: str
    kind: str
    state: str
    created_at: datetime
    created_by: str
    source: str
    target: str
    training_from: datetime | None
    training_until: datetime | None
    metrics: dict[str, Any]
    card_sha256: str
    promoted_at: datetime | None
    promoted_by: str | None


@dataclass(frozen=True, slots=True)
class StateChange:
    """One entry of a version's history."""

    from_state: str
    to_state: str
    actor: str
    at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """A version with its verified model card and the history of its state."""

    model: RegisteredModel
    card: dict[str, Any]
    history: list[StateChange]


def registered(row: ModelVersionRow | None) -> RegisteredModel:
    if row is None:  # pragma: no cover - callers pass rows they just read
        raise ModelVersionNotFound("model version not found")
    return record_of(RegisteredModel, row, metrics=dict(row.metrics))


def _row(session: Session, version: str) -> ModelVersionRow:
    row = repository.get(session, version)
    if row is None:
        raise ModelVersionNotFound(
            f"there is no model version {version!r}", hint="'repayguard model list' shows them"
        )
    return row


def load_version(
    version: str, *, session: Session, registry: ModelRegistry
) -> tuple[TrainedModel, StoredModel]:
    """The verified artefact of a version and the model built from it.

    Raises ModelVersionNotFound, or ModelArtefactTampered when any file fails its checksum or
    the verified files do not make a model of the registered kind.
    """
    row = _row(session, version)
    stored = registry.read(version, card_sha256=row.card_sha256)
    try:
        model = load_model(row.kind, stored.files)
    except ValueError as exc:  # pragma: no cover - checksums matched what training wrote
        raise ModelArtefactTampered(f"model {version} cannot be loaded: {exc}") from exc
    if model.version != version:
        raise ModelArtefactTampered(f"the files of {version} hold model {model.version}")
    return model, stored


def list_models(state: str | None = None, *, uow: UnitOfWork) -> list[RegisteredModel]:
    """Registered versions, newest first (optionally only those in ``state``)."""
    with uow:
        return [registered(row) for row in repository.listed(uow.session, state=state)]


def show_model(version: str, *, uow: UnitOfWork, registry: ModelRegistry) -> ModelDetails:
    """A version, its verified model card and its state history."""
    with uow:
        row = _row(uow.session, version)
        stored = registry.read(version, card_sha256=row.card_sha256)
        history = [
            StateChange(p.from_state, p.to_state, p.actor, p.at, p.note)
            for p in repository.promotions(uow.session, version)
        ]
        return ModelDetails(model=registered(row), card=stored.card, history=history)


def read_report(
    version: str, *, uow: UnitOfWork, registry: ModelRegistry, html: bool = False
) -> str:
    """The verified training report of a version (JSON text, or the HTML page)."""
    with uow:
        row = _row(uow.session, version)
        stored = registry.read(version, card_sha256=row.card_sha256)
    return stored.files["report.html" if html else "report.json"]


def training_profile(version: str, *, uow: UnitOfWork, registry: ModelRegistry) -> Profile:
    """The verified training distributions of a version (bins of each input and of the PD),
    for monitoring to compute PSI of live data against exactly the training bins."""
    with uow:
        row = _row(uow.session, version)
        stored = registry.read(version, card_sha256=row.card_sha256)
    return Profile.from_dict(json.loads(stored.files["profile.json"]))


def _names(names: list[str], shown: int = 4) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def missing_decision_inputs(model: TrainedModel) -> list[str]:
    """The model's inputs the decision pipeline does not compute (empty: it can decide)."""
    return [column.name for column in model.inputs if column.name not in FEATURE_NAMES]


def load_production_model(*, uow: UnitOfWork, registry: ModelRegistry) -> TrainedModel | None:
    """The verified production model, or None when no version has been promoted.

    A production version whose files fail their checksums raises ModelArtefactTampered:
    silently falling back to another model would hide the incident.
    """
    with uow:
        row = repository.production(uow.session)
        if row is None:
            return None
        model, _ = load_version(row.version, session=uow.session, registry=registry)
        return model


@dataclass(frozen=True, slots=True)
class PromoteModel:
    """Put a version into production; the current production version is retired.

    Operators promote through maker-checker (``repayguard.approvals``): ``promoted_by`` is who
    asked and who approved; ``card_sha256``, when given, pins the version's model card (the
    promotion is refused if the registered card changed since the request was made).
    """

    version: str
    promoted_by: str
    note: str = ""
    card_sha256: str | None = None


def check_promotable(version: str, *, session: Session, registry: ModelRegistry) -> RegisteredModel:
    """A version that could go into production now, read in the caller's transaction.

    Refused: an unknown version (ModelVersionNotFound), one already in production or whose
    inputs the decision pipeline does not compute (ModelPromotionRefused), files that fail
    their checksums (ModelArtefactTampered).
    """
    row = _row(session, version)
    if row.state == repository.PRODUCTION:
        raise ModelPromotionRefused(f"model {version} is already in production")
    model, _ = load_version(version, session=session, registry=registry)  # verified
    missing = missing_decision_inputs(model)
    if missing:
        raise ModelPromotionRefused(
            f"model {version} cannot decide repayment methods: its inputs "
            f"{_names(missing)} are not repayguard features",
            hint="train it from the event store ('repayguard model train' without --data); "
            "models trained on a tabular file stay candidates for scoring files",
        )
    return registered(row)


def promote_model(
    cmd: PromoteModel, *, uow: UnitOfWork, registry: ModelRegistry
) -> RegisteredModel:
    """Verify the version's files, make it the production model, retire the previous one,
    record both state changes and emit ``repayguard.model.promoted``; one commit."""
    with uow:
        result = promote_model_within(cmd, uow=uow, registry=registry)
        uow.commit()
    return result


def promote_model_within(
    cmd: PromoteModel, *, uow: UnitOfWork, registry: ModelRegistry
) -> RegisteredModel:
    """The promotion step of :func:`promote_model` inside the caller's open unit of work; the
    caller commits (approvals records the approval in the same transaction)."""
    if not cmd.promoted_by.strip():
        raise ModelPromotionRefused("say who promotes the model", hint="pass --by NAME")
    now = uow.clock.now()
    session = uow.session
    row = repository.get_for_update(session, cmd.version) or _row(session, cmd.version)
    if cmd.card_sha256 is not None and row.card_sha256 != cmd.card_sha256:
        raise ApprovalPayloadChanged(
            f"model {cmd.version}'s registered card is no longer the one that was approved",
            hint="ask for a new approval of the version as it is registered now",
        )
    check_promotable(cmd.version, session=session, registry=registry)
    previous = repository.production(session, for_update=True)
    if previous is not None:
        _change(session, previous, repository.RETIRED, cmd, now, f"replaced by {row.version}")
    _change(session, row, repository.PRODUCTION, cmd, now, cmd.note)
    row.promoted_at, row.promoted_by = now, cmd.promoted_by
    uow.emit(
        Message(
            ModelPromoted(
                version=row.version,
                kind=row.kind,
                previous=previous.version if previous is not None else None,
                promoted_by=cmd.promoted_by,
                note=cmd.note,
            )
        )
    )
    return registered(row)


def _change(
    session: Session,
    row: ModelVersionRow,
    to_state: str,
    cmd: PromoteModel,
    now: datetime,
    note: str,
) -> None:
    repository.add_promotion(
        session,
        ModelPromotionRow(
            version=row.version,
            from_state=row.state,
            to_state=to_state,
            actor=cmd.promoted_by,
            at=now,
            note=note[:500],
        ),
    )
    row.state = to_state
    session.flush()
