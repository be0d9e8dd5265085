"""Export of the chain as JSONL for third-party auditors, and offline verification of one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson

from repayguard.audit import repository
from repayguard.audit.chain import (
    ChainProblem,
    ChainRecord,
    ChainVerifier,
    canonical_json,
    timestamp,
)
from repayguard.audit.checkpoints import (
    Checkpoint,
    CheckpointSigner,
    TrustedKeys,
    read_checkpoints,
)
from repayguard.audit.verify import VerifyReport, load_vouched
from repayguard.platform.uow import UnitOfWork

EXPORT_END_FORMAT: Final = "repayguard.audit.export-end/1"


@dataclass(frozen=True, slots=True)
class ExportAudit:
    """Write the records appended at or after ``since`` (all when None), through to the end,
    closed by a line ``signer`` signs: a checkpoint of the export's last record."""

    out: Path
    signer: CheckpointSigner
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

    The last line is the export's signed end: a checkpoint of its last record (of the head when
    the export is empty), with the number of records and when the head was read. A file cut
    short loses it, so verification fails instead of vouching for a part as if it were whole.
    """
    cmd.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = cmd.out.with_name(f".{cmd.out.name}.{secrets.token_hex(4)}.tmp")
    written = 0
    first: int | None = None
    last: int | None = None
    try:
        with uow, temporary.open("wb") as handle:
            read_at = timestamp(uow.clock.now())
            head = repository.read_head(uow.session)
            after = _after_seq(cmd, uow)
            end = (0, "0" * 64) if head is None else (head.seq, head.hash)
            if head is not None and after is not None:
                for record in repository.stream(uow.session, after_seq=after, upto_seq=head.seq):
                    handle.write(canonical_json(record.as_line()) + b"\n")
                    first = record.seq if first is None else first
                    last = record.seq
                    end = (record.seq, record.hash)
                    written += 1
                    if on_records is not None and written % 1_000 == 0:
                        on_records(1_000)
            seal = cmd.signer.sign(
                chain_id=head.chain_id if head else "", seq=end[0], hash_=end[1], created_at=read_at
            )
            handle.write(canonical_json(_end_line(seal, written)) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, cmd.out)
    finally:
        temporary.unlink(missing_ok=True)
    if on_records is not None and written % 1_000:
        on_records(written % 1_000)
    return ExportReport(cmd.out, written, first, last, head.chain_id if head else None)


def _end_line(seal: Checkpoint, records: int) -> dict[str, Any]:
    return {"format": EXPORT_END_FORMAT, "records": records, "seal": orjson.loads(seal.to_json())}


@dataclass(frozen=True, slots=True)
class ExportEnd:
    """The signed last line of an export."""

    records: int
    seal: Checkpoint


def _parse_end(raw: dict[str, Any]) -> ExportEnd:
    return ExportEnd(int(raw["records"]), Checkpoint.from_json(orjson.dumps(raw["seal"])))


def read_export(path: Path) -> Iterator[ChainRecord | ExportEnd]:
    """The export's records in file order, then its signed end line when present."""
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                raw = orjson.loads(line)
                if isinstance(raw, dict) and raw.get("format") == EXPORT_END_FORMAT:
                    yield _parse_end(raw)
                else:
                    yield ChainRecord.from_line(raw)


def export_records(path: Path) -> list[ChainRecord]:
    """The records of an export (its signed end line left out)."""
    return [item for item in read_export(path) if isinstance(item, ChainRecord)]


def verify_export(
    path: Path, *, checkpoint_dir: Path | None, trusted: TrustedKeys | None
) -> VerifyReport:
    """Check an export on its own: hashes, links, its signed end, and the signed checkpoints
    it spans.

    An export that starts mid-chain has its first link checked against a checkpoint of the
    record before it when there is one, and taken on trust otherwise (reported as a warning).
    An export without its signed end line, or whose end does not vouch for its last record, was
    cut short or altered; so was one that a checkpoint signed before the export was made
    shows records beyond.
    """
    items = read_export(path)
    vouched, problem = load_vouched(checkpoint_dir, trusted, chain_id=None)
    verifier: ChainVerifier | None = None
    end: ExportEnd | None = None
    warnings: list[str] = []
    line = first_seq = 0
    try:
        for item in items:
            line += 1
            if end is not None:
                problem = ChainProblem(
                    "unreadable", 0, 0, f"line {line} follows the export's signed end line"
                )
            elif isinstance(item, ExportEnd):
                end = item
                continue
            if problem is not None:
                break
            assert isinstance(item, ChainRecord)
            if verifier is None:
                first_seq = item.seq
                verifier, warning = _verifier_from(item, vouched)
                warnings.extend(warning)
            problem = verifier.feed(item)
    except (ValueError, KeyError, TypeError) as exc:
        problem = ChainProblem("unreadable", 0, 0, f"line {line} is not an audit record: {exc}")
    records = 0 if verifier is None else verifier.records
    last = (0, "") if verifier is None else (verifier.last_seq, verifier.last_hash)
    if problem is None:
        problem = _check_end(end, records, last, trusted)
    if problem is None and end is not None and vouched:
        problem = _signed_beyond(checkpoint_dir, last[0], made=end.seal.created_at)
    start = first_seq - 1
    spanned = [seq for seq in vouched if start <= seq <= last[0]]
    if problem is None and not spanned:
        warnings.append("no checkpoint in the folder falls within the export (its end is signed)")
    return VerifyReport(
        end.seal.chain_id if end else None,
        records,
        last[0],
        len(spanned),
        max(spanned, default=0),
        problem,
        tuple(warnings),
    )


def _verifier_from(first: ChainRecord, vouched: dict[int, str]) -> tuple[ChainVerifier, list[str]]:
    start = first.seq - 1
    verifier = ChainVerifier(
        {seq: h for seq, h in vouched.items() if seq >= start},
        start_seq=start,
        start_hash=None if start else "0" * 64,
    )
    if start and start not in vouched:
        return verifier, [f"the export starts at record {first.seq}; its first link is not checked"]
    return verifier, []


def _check_end(
    end: ExportEnd | None, records: int, last: tuple[int, str], trusted: TrustedKeys | None
) -> ChainProblem | None:
    """The end line is present, signed by a trusted key, and vouches for the last record."""
    if end is None:
        return ChainProblem(
            "truncated",
            last[0] + 1,
            last[0] + 1,
            f"the export ends after record {last[0]} without its signed end line: the file was "
            "cut short (or written by a version that did not sign its end; export it again)",
        )
    seal = end.seal
    if trusted is None or not trusted.verifies(seal):
        return ChainProblem(
            "checkpoint_forged",
            seal.seq,
            seal.seq,
            f"the export's end line does not verify with a trusted key ({seal.key_id})",
        )
    if (records and (seal.seq, seal.hash) != last) or end.records != records:
        return ChainProblem(
            "truncated",
            min(seal.seq, last[0]) + 1,
            min(seal.seq, last[0]) + 1,
            f"the export's signed end vouches for {end.records:,} records ending at record "
            f"{seal.seq}, but the file holds {records:,} ending at record {last[0]}: records were "
            "removed or added",
        )
    return None


def _signed_beyond(directory: Path | None, last: int, *, made: str) -> ChainProblem | None:
    """A checkpoint signed before the export was made that vouches for a record after the
    export's last one: the export was cut to an earlier, consistently re-signed end."""
    assert directory is not None  # checkpoints are only vouched from a folder
    beyond = [
        found.checkpoint.seq
        for found in read_checkpoints(directory)
        if found.checkpoint is not None
        and found.checkpoint.seq > last
        and found.checkpoint.created_at <= made
    ]
    if not beyond:
        return None
    return ChainProblem(
        "truncated",
        last + 1,
        last + 1,
        f"a checkpoint signed before this export was made vouches for record {max(beyond)}, "
        f"but the export ends at record {last}: records were removed from its end",
    )
