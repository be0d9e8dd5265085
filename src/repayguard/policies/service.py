"""Policy use-cases: submit a draft, publish it as an immutable version, list and read versions.

A draft is stored only when every static check passes; otherwise the submission is refused
with all problems at once. Publishing turns a draft into the next version number of its name,
with the sha256 of its canonical content, records who published it and emits
``repayguard.policy.published`` through the outbox in the same transaction. Published versions
are never updated; their content hash is verified whenever one is read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repayguard.core.policy import Policy, Profiles, canonical_json, check_policy, content_hash
from repayguard.errors import ApprovalPayloadChanged
from repayguard.platform.messages import Message
from repayguard.platform.records import record_of
from repayguard.platform.uow import UnitOfWork
from repayguard.policies import repository
from repayguard.policies.errors import (
    PolicyDraftNotFound,
    PolicyVersionConflict,
    PolicyVersionNotFound,
    PolicyVersionTampered,
)
from repayguard.policies.messages import PolicyPublished, PolicySubmitted
from repayguard.policies.models import PolicyDraftRow, PolicyVersionRow
from repayguard.policies.sources import check_text, rejected


@dataclass(frozen=True, slots=True)
class SubmitPolicy:
    """Check a YAML policy and keep it as a draft when it passes."""

    source: str
    submitted_by: str


@dataclass(frozen=True, slots=True)
class PublishPolicy:
    """Publish a draft as the next version of its policy name.

    ``content_hash``, when given, pins the draft: publishing is refused unless the draft's
    content still hashes to it (an approval publishes exactly what the checker saw).
    """

    draft_id: str
    published_by: str
    content_hash: str | None = None


@dataclass(frozen=True, slots=True)
class GetPolicyVersion:
    """One published version; the latest of ``name`` when ``version`` is None."""

    name: str
    version: int | None = None


@dataclass(frozen=True, slots=True)
class ListPolicyVersions:
    """Published versions, newest first, of one name or of all."""

    name: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class DraftInfo:
    """A stored draft."""

    draft_id: str
    name: str
    stated_version: str | None
    content_hash: str
    rows: int
    submitted_by: str
    submitted_at: datetime
    published_version: int | None


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A published version; ``source`` and ``policy`` are filled when one version is read."""

    name: str
    version: int
    content_hash: str
    jurisdiction: str
    hit_policy: str
    rows: int
    draft_id: str
    published_by: str
    published_at: datetime
    source: str | None = None
    policy: Policy | None = None


@dataclass(frozen=True, slots=True)
class VersionPage:
    items: list[VersionInfo]
    total: int


def _draft_info(row: PolicyDraftRow) -> DraftInfo:
    doc = row.document
    return record_of(
        DraftInfo, row, stated_version=doc.get("version"), rows=len(doc.get("rows", []))
    )


def verified(row: PolicyVersionRow) -> Policy:
    """The policy of a stored version, after checking it still has its recorded hash."""
    policy = Policy.model_validate(row.document)
    if content_hash(policy) != row.content_hash:
        raise PolicyVersionTampered(
            f"policy {row.name} version {row.version} no longer matches its content hash",
            hint="restore the version from a backup; published versions are never edited",
        )
    return policy


def _version_info(row: PolicyVersionRow, *, full: bool = False) -> VersionInfo:
    return record_of(
        VersionInfo,
        row,
        source=row.source if full else None,
        policy=verified(row) if full else None,
    )


def submit_policy(cmd: SubmitPolicy, *, uow: UnitOfWork, profiles: Profiles) -> DraftInfo:
    """Store a draft that passes every check; refuse it with every problem otherwise.

    A draft that states a ``version`` must state the next number of its name: a number that
    is taken (or skips one) could never be published, and its request would wait for ever.
    """
    result = check_text(cmd.source, profiles=profiles)
    if result.policy is None or result.problems:
        raise rejected(result.problems)
    policy = result.policy
    with uow:
        check_stated_version(uow.session, policy.name, policy.version)
        row = add_draft(uow, cmd.source, policy, submitted_by=cmd.submitted_by)
        info = _draft_info(row)
        uow.commit()
    return info


def add_draft(uow: UnitOfWork, source: str, policy: Policy, *, submitted_by: str) -> PolicyDraftRow:
    """Store a checked policy as a draft and emit ``repayguard.policy.submitted``, in the
    caller's unit of work."""
    row = PolicyDraftRow(
        draft_id=uuid.uuid4().hex,
        name=policy.name,
        content_hash=content_hash(policy),
        source=source,
        document=policy.model_dump(mode="json"),
        submitted_by=submitted_by[:120],
        submitted_at=uow.clock.now(),
        published_version=None,
    )
    repository.add_draft(uow.session, row)
    uow.session.flush()  # publishable in the same transaction (the seed publishes it at once)
    uow.emit(
        Message(
            PolicySubmitted(
                draft_id=row.draft_id,
                name=row.name,
                content_hash=row.content_hash,
                submitted_by=row.submitted_by,
            )
        )
    )
    return row


def next_version(session: Session, name: str) -> int:
    """The number the next published version of ``name`` gets."""
    return repository.latest_number(session, name) + 1


def check_stated_version(session: Session, name: str, stated: str | None) -> None:
    """Refuse a stated ``version`` that is not the next number of ``name`` (None passes: the
    store assigns the number). Checked at submission, when approval is asked and on publish."""
    number = next_version(session, name)
    if stated is not None and stated != str(number):
        raise PolicyVersionConflict(
            f"the draft states version {stated} but the next version of {name} is {number}",
            hint="leave 'version' out to have it assigned when the version is published "
            f"(or state {number})",
        )


def _same_content(a: Policy, b: Policy) -> bool:
    return canonical_json(a.model_copy(update={"version": None})) == canonical_json(
        b.model_copy(update={"version": None})
    )


def publish_policy(cmd: PublishPolicy, *, uow: UnitOfWork, profiles: Profiles) -> VersionInfo:
    """Publish a draft as the next version of its name (see the module docstring).

    Refused: an unknown draft, a draft already published, a draft whose stated ``version`` is
    not the next number, content identical to the latest version, or a draft that no longer
    passes the checks (profiles may have changed since it was submitted).

    Operators publish through maker-checker (``repayguard.approvals``), which calls
    :func:`publish_policy_within` when a second person approves.
    """
    with uow:
        info = publish_policy_within(cmd, uow=uow, profiles=profiles)
        uow.commit()
    return info


def publish_policy_within(
    cmd: PublishPolicy, *, uow: UnitOfWork, profiles: Profiles
) -> VersionInfo:
    """The publishing step of :func:`publish_policy` inside the caller's open unit of work;
    the caller commits (approvals records the approval in the same transaction)."""
    session = uow.session
    draft = repository.get_draft(session, cmd.draft_id)
    if draft is None:
        raise PolicyDraftNotFound(
            f"no policy draft {cmd.draft_id!r}",
            hint="submit the policy first ('repayguard policy submit')",
        )
    if draft.published_version is not None:
        raise PolicyVersionConflict(
            f"draft {cmd.draft_id} was already published as version "
            f"{draft.published_version} of {draft.name}"
        )
    try:
        policy = Policy.model_validate(draft.document)
    except ValidationError as exc:
        raise PolicyVersionTampered(
            f"draft {cmd.draft_id} is no longer a valid policy document",
            hint="submit the policy again; stored drafts are never edited",
        ) from exc
    if cmd.content_hash is not None and content_hash(policy) != cmd.content_hash:
        raise ApprovalPayloadChanged(
            f"draft {cmd.draft_id} no longer has the content that was approved",
            hint="submit the policy again and ask for a new approval",
        )
    problems = tuple(check_policy(policy, profiles=profiles))
    if problems:
        raise rejected(problems, f"draft {cmd.draft_id}")
    check_stated_version(session, policy.name, policy.version)
    number = next_version(session, policy.name)
    latest = number - 1
    previous = repository.get_version(session, policy.name, latest) if latest else None
    if previous is not None and _same_content(verified(previous), policy):
        raise PolicyVersionConflict(
            f"the draft is identical to version {latest} of {policy.name}; nothing to publish"
        )
    published = policy.model_copy(update={"version": str(number)})
    row = PolicyVersionRow(
        name=policy.name,
        version=number,
        content_hash=content_hash(published),
        source=draft.source,
        document=published.model_dump(mode="json"),
        jurisdiction=policy.jurisdiction,
        hit_policy=str(policy.hit_policy),
        rows=len(policy.rows),
        draft_id=draft.draft_id,
        published_by=cmd.published_by[:120],
        published_at=uow.clock.now(),
    )
    try:
        repository.add_version(session, row)
    except IntegrityError as exc:
        raise PolicyVersionConflict(
            f"version {number} of {policy.name} was published concurrently", hint="retry"
        ) from exc
    repository.mark_published(session, draft, number)
    uow.emit(Message(_published(row)))
    return _version_info(row)


def _published(row: PolicyVersionRow) -> PolicyPublished:
    return PolicyPublished(
        name=row.name,
        version=row.version,
        content_hash=row.content_hash,
        jurisdiction=row.jurisdiction,
        hit_policy=row.hit_policy,
        rows=row.rows,
        draft_id=row.draft_id,
        published_by=row.published_by,
        published_at=row.published_at,
    )


def get_version(cmd: GetPolicyVersion, *, uow: UnitOfWork) -> VersionInfo:
    """One published version with its source and verified policy."""
    with uow:
        row = repository.get_version(uow.session, cmd.name, cmd.version)
        if row is None:
            which = f"version {cmd.version}" if cmd.version is not None else "any version"
            raise PolicyVersionNotFound(
                f"no published {which} of policy {cmd.name!r}",
                hint="list them with 'repayguard policy list'",
            )
        return _version_info(row, full=True)


def list_versions(cmd: ListPolicyVersions, *, uow: UnitOfWork) -> VersionPage:
    """Published versions, newest first per name, and how many there are in all."""
    with uow:
        rows, total = repository.list_versions(
            uow.session, cmd.name, limit=cmd.limit, offset=cmd.offset
        )
        return VersionPage([_version_info(r) for r in rows], total)


def find_latest(session: Session, name: str) -> VersionInfo | None:
    """The latest published version of ``name`` with its policy, hash verified (raises
    PolicyVersionTampered when it no longer matches), read in the caller's transaction; None
    when no version of that name was ever published."""
    row = repository.get_version(session, name, None)
    return _version_info(row, full=True) if row is not None else None


def find_draft(session: Session, draft_id: str) -> DraftInfo | None:
    """A stored draft read in the caller's transaction, or None."""
    row = repository.get_draft(session, draft_id)
    return _draft_info(row) if row is not None else None


def get_draft(draft_id: str, *, uow: UnitOfWork) -> tuple[DraftInfo, Policy]:
    """A stored draft and its policy."""
    with uow:
        row = repository.get_draft(uow.session, draft_id)
        if row is None:
            raise PolicyDraftNotFound(f"no policy draft {draft_id!r}")
        return _draft_info(row), Policy.model_validate(row.document)
