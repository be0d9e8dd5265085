"""Export of the chain as JSONL for third-party auditors, and offline verification of one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from repayguard.audit import repository
from repayguard.audit.chain import ChainProblem, ChainRecord, ChainVerifier, canonical_json
from repayguard.audit.checkpoints import TrustedKeys
from repayguard.audit.verify import VerifyReport, load_vouched
from repayguard.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ExportAudit:
    """Write the records appended at or after ``since`` (all when None), through to the end."""

    out: Path
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExportReport:
    path: Path
    records: int
    first_seq: int | None
    last_seq: int | None
    chain_id: str | None


def export_size(cmd: ExportAudit, *, uow: UnitOfWork) -> int:
    """How many records ``export_audit`` would write now (for a progress bar)."""
    with uow:
        after = _after_seq(cmd, uow)
        return 0 if after is None else repository.count(uow.session, after_seq=after)


def _after_seq(cmd: ExportAudit, uow: UnitOfWork) -> int | None:
    if cmd.since is None:
        return 0
    first = repository.first_seq_since(uow.session, cmd.since)
    return None if first is None else first - 1


def export_audit(
    cmd: ExportAudit, *, uow: UnitOfWork, on_records: Callable[[int], None] | None = None
) -> ExportReport:
    """One canonical JSON object per line: the record's body plus its hash, as chained.

    Records are stored already redacted — borrowers as keyed pseudonyms, personal fields
    dropped — so the file is exactly what the chain vouches for, and an auditor can recompute
    every hash (SHA-256 of the line's canonical JSON without ``hash``) and check the links
    and the signed checkpoints with ``repayguard audit verify --export``. The file appears
    only when complete (written aside, then renamed).
    """
    cmd.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = cmd.out.with_name(f".{cmd.out.name}.{secrets.token_hex(4)}.tmp")
    written = 0
    first: int | None = None
    last: int | None = None
    try:
        with uow, temporary.open("wb") as handle:
            head = repository.read_head(uow.session)
            after = _after_seq(cmd, uow)
            if head is not None and after is not None:
                for record in repository.stream(uow.session, after_seq=after, upto_seq=head.seq):
                    handle.write(canonical_json(record.as_line()) + b"\n")
                    first = record.seq if first is None else first
                    last = record.seq
                    written += 1
                    if on_records is not None and written % 1_000 == 0:
                        on_records(1_000)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, cmd.out)
    finally:
        temporary.unlink(missing_ok=True)
    if on_records is not None and written % 1_000:
        on_records(written % 1_000)
    return ExportReport(cmd.out, written, first, last, head.chain_id if head else None)


def read_export(path: Path) -> Iterator[ChainRecord]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield ChainRecord.from_line(orjson.loads(line))


def verify_export(
    path: Path, *, checkpoint_dir: Path | None, trusted: TrustedKeys | None
) -> VerifyReport:
    """Check an export on its own: hashes, links, and the signed checkpoints it spans.

    An export that starts mid-chain has its first link checked against a checkpoint of the
    record before it when there is one, and taken on trust otherwise (reported as a warning).
    """
    records = read_export(path)
    problem: ChainProblem | None
    try:
        head = next(records)
    except StopIteration:
        return VerifyReport(None, 0, 0, 0, 0, None, ("the export is empty",))
    except (ValueError, KeyError, TypeError) as exc:
        problem = ChainProblem("unreadable", 0, 0, f"line 1 is not an audit record: {exc}")
        return VerifyReport(None, 0, 0, 0, 0, problem)
    vouched, problem = load_vouched(checkpoint_dir, trusted, chain_id=None)
    start = head.seq - 1
    verifier = ChainVerifier(
        {seq: h for seq, h in vouched.items() if seq >= start},
        start_seq=start,
        start_hash=None if start else "0" * 64,
    )
    warnings: list[str] = []
    if start and start not in vouched:
        warnings.append(f"the export starts at record {head.seq}; its first link is not checked")
    if problem is None:
        problem = verifier.feed(head)
    line = 1
    try:
        for record in records:
            if problem is not None:
                break
            line += 1
            problem = verifier.feed(record)
    except (ValueError, KeyError, TypeError) as exc:
        problem = ChainProblem("unreadable", 0, 0, f"line {line + 1} is not an audit record: {exc}")
    spanned = [seq for seq in vouched if start <= seq <= verifier.last_seq]
    if problem is None and not spanned:
        warnings.append("no signed checkpoint falls within the export")
    return VerifyReport(
        None,
        verifier.records,
        verifier.last_seq,
        len(spanned),
        max(spanned, default=0),
        problem,
        tuple(warnings),
    )
