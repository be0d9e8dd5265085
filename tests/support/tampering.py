"""What a forger with write access to the audit table can do to a chain, one kind at a time."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import timedelta

from repayguard.audit import GENESIS_HASH, ChainRecord

Head = tuple[int, str]


def reseal(records: list[ChainRecord], start: int) -> list[ChainRecord]:
    """Recompute numbers, links and hashes from position ``start`` on (a careful forger)."""
    out = records[:start]
    prev = out[-1].hash if out else GENESIS_HASH
    for seq, record in enumerate(records[start:], start=start + 1):
        body = dataclasses.replace(record, seq=seq, prev_hash=prev)
        sealed = dataclasses.replace(body, hash=body.computed_hash())
        out.append(sealed)
        prev = sealed.hash
    return out


def renumber(records: list[ChainRecord], start: int) -> list[ChainRecord]:
    """Close or open a gap by renumbering from ``start`` on, without re-hashing."""
    return records[:start] + [
        dataclasses.replace(r, seq=seq) for seq, r in enumerate(records[start:], start=start + 1)
    ]


EDITS: dict[str, Callable[[ChainRecord], ChainRecord]] = {
    "actor": lambda r: dataclasses.replace(r, actor="operator:mallory"),
    "action": lambda r: dataclasses.replace(r, action="repayguard.nothing.happened"),
    "subject": lambda r: dataclasses.replace(r, subject="run:other"),
    "payload": lambda r: dataclasses.replace(r, payload={**r.payload, "forged": True}),
    "time": lambda r: dataclasses.replace(r, occurred_at=r.occurred_at + timedelta(hours=1)),
    "digest": lambda r: dataclasses.replace(r, payload_sha256="cd" * 32),
    "prev_hash": lambda r: dataclasses.replace(r, prev_hash="f" * 64),
    "hash": lambda r: dataclasses.replace(r, hash="e" * 64),
}
KINDS = (
    "edit",
    "edit_and_rehash",
    "delete",
    "delete_and_renumber",
    "insert",
    "insert_and_rehash",
    "reorder",
    "truncate",
    "rewrite_from",
    "rewrite_all",
)


def tamper(
    kind: str, records: list[ChainRecord], rng: random.Random
) -> tuple[list[ChainRecord], Head, range]:
    """Apply one tampering of ``kind`` at random places. Returns the records as left, the head
    the forger leaves (moved when the forger would move it), and the sequence numbers touched:
    the break that verify reports must fall among them."""
    n = len(records)
    head = (n, records[-1].hash)
    i = rng.randrange(n)
    forged = dataclasses.replace(records[i], message_id="forged", subject="run:forged")
    if kind == "edit":
        edit = EDITS[rng.choice(sorted(EDITS))]
        return [*records[:i], edit(records[i]), *records[i + 1 :]], head, range(i + 1, i + 2)
    if kind == "edit_and_rehash":
        edited = EDITS["payload"](records[i])
        edited = dataclasses.replace(edited, hash=edited.computed_hash())
        return [*records[:i], edited, *records[i + 1 :]], head, range(i + 1, i + 2)
    if kind == "delete":
        return records[:i] + records[i + 1 :], head, range(i + 1, i + 2)
    if kind == "delete_and_renumber":
        shortened = renumber(records[:i] + records[i + 1 :], i)
        end = (n - 1, shortened[-1].hash) if shortened else (0, GENESIS_HASH)
        return shortened, end, range(i + 1, n + 1)
    if kind == "insert":
        grown = renumber([*records[:i], forged, *records[i:]], i)
        grown[i] = reseal(grown[: i + 1], i)[i]
        return grown, (n + 1, grown[-1].hash), range(i + 1, n + 2)
    if kind == "insert_and_rehash":
        grown = reseal([*records[:i], forged, *records[i:]], i)
        return grown, (n + 1, grown[-1].hash), range(i + 1, n + 2)
    if kind == "reorder":
        j = rng.choice([k for k in range(n) if k != i])
        a, b = sorted((i, j))
        swapped = list(records)
        swapped[a] = dataclasses.replace(records[b], seq=a + 1)
        swapped[b] = dataclasses.replace(records[a], seq=b + 1)
        return swapped, head, range(a + 1, b + 2)
    if kind == "truncate":
        kept = records[: rng.randrange(n)]
        end = (len(kept), kept[-1].hash) if kept else (0, GENESIS_HASH)
        return kept, end, range(len(kept) + 1, n + 1)
    start = 0 if kind == "rewrite_all" else i
    content = sorted(set(EDITS) - {"hash", "prev_hash"})  # re-sealing recomputes those two
    edited = [EDITS[rng.choice(content)](r) for r in records[start:]]
    rewritten = reseal(records[:start] + edited, start)
    return rewritten, (n, rewritten[-1].hash), range(start + 1, n + 1)
