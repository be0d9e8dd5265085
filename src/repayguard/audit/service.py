"""Audit use-cases: append every committed message to the chain, checkpoint it, verify it."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

import orjson
from sqlalchemy.orm import Session

from repayguard.audit import repository
from repayguard.audit.chain import (
    ChainRecord,
    canonical_json,
    seal,
    sha256_hex,
    timestamp,
)
from repayguard.audit.checkpoints import (
    Checkpoint,
    CheckpointSigner,
    write_checkpoint,
)
from repayguard.audit.errors import AuditChainUnavailable
from repayguard.platform.clock import Clock
from repayguard.platform.crypto import Pseudonymizer
from repayguard.platform.jobs import Job, JobContext, JobOutcome, job
from repayguard.platform.messages import Message
from repayguard.platform.redaction import BORROWER_KEYS, PERSONAL_KEYS, REDACTED
from repayguard.platform.uow import UnitOfWork

SYSTEM_ACTOR: Final = "system"
_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_actor", default=None)

# Payload keys that name what a message is about, most specific first (see ``subject_of``).
_SUBJECT_KEYS: Final = (
    ("borrower_id", "borrower"),
    ("request_id", "approval"),
    ("complaint_id", "complaint"),
    ("notice_id", "notice"),
    ("decision_id", "decision"),
    ("policy_version", "policy"),
    ("model_version", "model"),
    ("user_id", "user"),
    ("token_id", "token"),
    ("run_id", "run"),
    ("batch_id", "batch"),
)


class Pseudonyms(Protocol):
    """What turns borrower ids into keyed pseudonyms (``platform.crypto.Pseudonymizer``)."""

    def pseudonym(self, value: str, *, kind: str = "borrower") -> str: ...


class RememberedPseudonyms:
    """A pseudonymizer whose answers are remembered per id, the least recently used ones
    forgotten past ``size``. The same key gives the same pseudonym, so a remembered one is
    exactly what the HMAC would give again. An ingested batch's message names ~2,000
    borrowers, and the next batches of an import mostly the same ones; a remembered pseudonym
    costs ~1/18 of an HMAC (timeit, same run). ``size`` bounds memory (~225 bytes an id)."""

    __slots__ = ("_remembered",)

    def __init__(self, pseudonymizer: Pseudonymizer, *, size: int = 65_536) -> None:
        def compute(value: str, kind: str) -> str:
            return pseudonymizer.pseudonym(value, kind=kind)

        self._remembered = functools.lru_cache(maxsize=size)(compute)

    def pseudonym(self, value: str, *, kind: str = "borrower") -> str:
        return self._remembered(value, kind)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute the audit records of everything committed inside the block to ``actor``
    (identity sets ``operator:<id>``, ``service:<id>`` or ``borrower:<pseudonym>`` per request)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(actor: str) -> None:
    """Attribute what the current request commits to ``actor`` (for an async dependency, whose
    context the request's worker thread inherits; the setting ends with the request)."""
    _actor.set(actor)


def current_actor(default: str = SYSTEM_ACTOR) -> str:
    return _actor.get() or default


def _actor_label(actor: str, pseudonymizer: Pseudonyms) -> str:
    """Actors are stored like subjects: a borrower acting for themselves appears only as a
    pseudonym (``borrower:bp_…``), never by id."""
    kind, _, ident = actor.partition(":")
    if kind == "borrower" and ident and not ident.startswith("bp_"):
        return f"borrower:{pseudonymizer.pseudonym(ident)}"
    return actor[:200]


_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
_KEEP, _DROP, _PSEUDONYMISE = 0, 1, 2
_key_kinds: dict[str, int] = {}


def _kind_of(key: str) -> int:
    kind = _key_kinds.get(key)
    if kind is None:
        lowered = key.lower()
        kind = (
            _DROP
            if lowered in PERSONAL_KEYS
            else _PSEUDONYMISE
            if lowered in BORROWER_KEYS
            else _KEEP
        )
        if len(_key_kinds) < 10_000:  # payload keys are a small fixed vocabulary
            _key_kinds[key] = kind
    return kind


def redact_payload(value: Any, pseudonymizer: Pseudonyms) -> Any:
    """A copy of a JSON value with personal fields dropped and borrower ids pseudonymised."""
    return _redact_in_place(orjson.loads(orjson.dumps(value)), pseudonymizer)


def _redact_in_place(value: Any, pseudonymizer: Pseudonyms) -> Any:
    # Runs over every message of a batch run (2,000 entitlements a message): the value is a
    # fresh parse, so it is changed in place, and each key is classified once per process.
    if isinstance(value, dict):
        for key, item in value.items():
            kind = _kind_of(key)
            if kind == _DROP:
                value[key] = REDACTED
            elif kind == _PSEUDONYMISE:
                value[key] = _pseudonymise(item, pseudonymizer)
            elif type(item) not in _SCALARS:
                _redact_in_place(item, pseudonymizer)
    elif isinstance(value, list):
        for item in value:
            if type(item) not in _SCALARS:
                _redact_in_place(item, pseudonymizer)
    return value


def _pseudonymise(value: Any, pseudonymizer: Pseudonyms) -> Any:
    if isinstance(value, str):
        return pseudonymizer.pseudonym(value)
    if isinstance(value, list):
        return [_pseudonymise(item, pseudonymizer) for item in value]
    return _redact_in_place(value, pseudonymizer)


def subject_of(payload: Mapping[str, Any], pseudonymizer: Pseudonyms) -> str:
    """What a message is about: an explicit ``subject`` (``kind:id``), else the first id key
    the payload carries; borrowers appear only as pseudonyms."""
    explicit = payload.get("subject")
    if isinstance(explicit, str) and explicit:
        kind, _, ident = explicit.partition(":")
        if kind == "borrower" and ident:
            return f"borrower:{pseudonymizer.pseudonym(ident)}"
        return explicit[:200]
    for key, kind in _SUBJECT_KEYS:
        value = payload.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            continue
        if kind == "borrower":
            return f"borrower:{pseudonymizer.pseudonym(str(value))}"
        return f"{kind}:{value}"[:200]
    return "-"


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    """Where signed checkpoints go and how often: every ``every`` records, every
    ``seal_every`` while records are unsealed (the ``audit.seal`` job), at the shutdown of a
    process that appended, and on demand."""

    directory: Path
    signer: CheckpointSigner
    every: int = 1_000
    seal_every: timedelta | None = timedelta(minutes=5)


class AuditTrail:
    """The commit observer that appends one chain record per message of a unit of work.

    It runs inside the use-case's transaction just before commit, so the change and its
    record land together or not at all. Appends are serialized by the head-row lock (see
    ``repository.lock_head``). When ``every`` records have passed since the last checkpoint,
    the head as read under the lock — committed, so it exists whatever this transaction does
    — is signed and written out before the new records are added.
    """

    def __init__(
        self,
        *,
        pseudonymizer: Pseudonymizer,
        clock: Clock,
        default_actor: str = SYSTEM_ACTOR,
        checkpoints: CheckpointPolicy | None = None,
    ) -> None:
        self._pseudonymizer = RememberedPseudonyms(pseudonymizer)
        self._clock = clock
        self._default_actor = default_actor
        self.checkpoints = checkpoints
        self.appended = False
        """Whether this process appended a record (then its shutdown seals the head)."""

    def __call__(self, session: Session, messages: Sequence[Message]) -> None:
        if not messages:
            return
        now = self._clock.now()
        head = repository.lock_head(session, now=now)
        if head is None:
            raise AuditChainUnavailable(
                "the audit chain's head row is missing, so no change can be recorded",
                hint="restore the database from a backup and run 'repayguard audit verify'",
            )
        checkpoint_seq = head.checkpoint_seq
        policy = self.checkpoints
        if policy is not None and head.seq - head.checkpoint_seq >= policy.every:
            _sign_and_write(policy, head.chain_id, head.seq, head.hash, now)
            checkpoint_seq = head.seq
        actor = _actor_label(current_actor(self._default_actor), self._pseudonymizer)
        records: list[ChainRecord] = []
        seq, prev = head.seq, head.hash
        for message in messages:
            canonical = canonical_json(message.payload)  # sorted keys: key order never counts
            payload = orjson.loads(canonical)
            subject = subject_of(payload, self._pseudonymizer)
            seq += 1
            record = seal(
                seq=seq,
                prev_hash=prev,
                message_id=message.message_id,
                occurred_at=now,
                actor=actor,
                action=message.name,
                subject=subject,
                payload=_redact_in_place(payload, self._pseudonymizer),
                payload_sha256=sha256_hex(canonical),
            )
            records.append(record)
            prev = record.hash
        repository.append(session, records)
        repository.move_head(session, seq=seq, hash_=prev, checkpoint_seq=checkpoint_seq, now=now)
        self.appended = True


def make_audit_observer(
    *,
    pseudonymizer: Pseudonymizer,
    clock: Clock,
    default_actor: str = SYSTEM_ACTOR,
    checkpoints: CheckpointPolicy | None = None,
) -> AuditTrail:
    """The observer to add to ``Container.observers`` (one per process)."""
    return AuditTrail(
        pseudonymizer=pseudonymizer,
        clock=clock,
        default_actor=default_actor,
        checkpoints=checkpoints,
    )


def _sign_and_write(
    policy: CheckpointPolicy, chain_id: str, seq: int, hash_: str, now: datetime
) -> Checkpoint:
    checkpoint = policy.signer.sign(
        chain_id=chain_id, seq=seq, hash_=hash_, created_at=timestamp(now)
    )
    write_checkpoint(policy.directory, checkpoint)
    return checkpoint


def write_checkpoint_now(
    policy: CheckpointPolicy, *, uow: UnitOfWork, only_unsealed: bool = False
) -> Checkpoint | None:
    """Sign the committed head now (on demand, from the seal timer, at shutdown); None for an
    empty chain, or with ``only_unsealed`` when a checkpoint already covers the head.

    Only a signed checkpoint makes a rewrite detectable: a forger with database rights can
    re-hash every record after the last one and move the head, so the timer bounds how long
    a record stays unsealed however few records a small lender writes.
    """
    with uow:
        now = uow.clock.now()
        head = repository.lock_head(uow.session, now=now)
        if head is None:
            raise AuditChainUnavailable("the audit chain's head row is missing")
        if head.seq == 0 or (only_unsealed and head.checkpoint_seq >= head.seq):
            return None
        checkpoint = _sign_and_write(policy, head.chain_id, head.seq, head.hash, now)
        repository.move_head(
            uow.session, seq=head.seq, hash_=head.hash, checkpoint_seq=head.seq, now=now
        )
        uow.commit()
    return checkpoint


def seal_job(policy: CheckpointPolicy, every: timedelta) -> Job:
    """The worker's ``audit.seal`` job: sign the head every ``every`` while records are
    unsealed (nothing to do, no file, when a checkpoint already covers the head)."""

    def work(context: JobContext) -> JobOutcome:
        written = write_checkpoint_now(policy, uow=context.uow(), only_unsealed=True)
        if written is None:
            return JobOutcome("every audit record is sealed", {"sealed": 0})
        return JobOutcome(
            f"sealed the audit chain through record {written.seq:,}", {"sealed": written.seq}
        )

    return job("audit.seal", every, work)
