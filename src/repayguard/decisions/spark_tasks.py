"""What a Spark executor runs: the engine as documents, and one borrower partition decided.

Nothing here needs a Spark session: a partition is a stream of Arrow record batches holding
borrower rows (the spine, with each borrower's previous tier and states) and, when events come
from Parquet, event rows. The executor rebuilds the decision engine from its documents once per
process (policy, model and bands travel as text with their sha256, never as pickled objects
whose classes a cluster's other Python might not read), runs the same pure
``core.pipeline.decide`` the in-process driver runs, and answers with the decided frame as Arrow
IPC bytes, so nothing is converted on the way back.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

import polars as pl
import pyarrow as pa

from repayguard import ingestion, policies
from repayguard.core.events import EVENT_SCHEMA
from repayguard.core.pipeline import FLAG_INPUTS, PREVIOUS_SCHEMA, decide, decide_with_challenger
from repayguard.core.policy import CompiledPolicy, Policy
from repayguard.core.scoring import ExpertModel, RiskModel, TrainedModel, load_model
from repayguard.core.scoring.expert import KIND as EXPERT_KIND
from repayguard.core.scoring.expert import dump_expert_model, load_expert_model
from repayguard.core.tiers import TierBands, dump_bands, load_bands
from repayguard.decisions.engine import DecisionEngine
from repayguard.platform.db import make_engine

ORDER_FILE: Final = "_rg_file"
ORDER_ROW: Final = "_rg_file_row"
"""Where a Parquet event was read (file, row): its place in the order ingest appends events."""
ROW_KIND: Final = "_rg_row"
"""Column telling a partition's rows apart: a borrower of the spine, or one event."""
BORROWER_ROW: Final = 0
EVENT_ROW: Final = 1
PREVIOUS_COLUMNS: Final = (*PREVIOUS_SCHEMA.names()[1:], *FLAG_INPUTS)
OUTPUT_DDL: Final = "decisions binary, shadow binary"


class EngineDocumentMismatch(ValueError):
    """A document that arrived at an executor is not the one the driver sent (sha256)."""


@dataclass(frozen=True, slots=True)
class Document:
    """One artefact as text with the sha256 of its bytes, checked where it is read."""

    text: str
    sha256: str

    @classmethod
    def of(cls, text: str) -> Document:
        return cls(text, hashlib.sha256(text.encode("utf-8")).hexdigest())

    def checked(self) -> str:
        if hashlib.sha256(self.text.encode("utf-8")).hexdigest() != self.sha256:
            raise EngineDocumentMismatch(f"document {self.sha256[:12]}… arrived altered")
        return self.text


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A compiled policy as it travels: the policy (JSON), and the hash and version its
    decisions name (a development override's are the file's, not the content's)."""

    policy: Document
    version: str
    lineage_hash: str

    @classmethod
    def of(cls, policy: Policy, compiled: CompiledPolicy) -> PolicyDocument:
        text = json.dumps(policy.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return cls(Document.of(text), compiled.version, compiled.content_hash)

    def compile(self) -> CompiledPolicy:
        policy = Policy.model_validate_json(self.policy.checked())
        compiled = policies.compile_checked(
            policy, profiles=policies.profiles(), lineage_hash=self.lineage_hash
        )
        if compiled.version != self.version:
            raise EngineDocumentMismatch(f"policy version {compiled.version} != {self.version}")
        return compiled


@dataclass(frozen=True, slots=True)
class EngineDocuments:
    """The decision engine as documents: what an executor rebuilds it from."""

    policy: PolicyDocument
    challenger: PolicyDocument | None
    model_kind: str
    model_version: str
    model_files: tuple[tuple[str, Document], ...]
    bands: Document
    bands_version: str

    @classmethod
    def of(cls, engine: DecisionEngine) -> EngineDocuments:
        """The engine's documents; refused for a model kind that has no document form."""
        model = engine.model
        if isinstance(model, ExpertModel):
            files = {"model.json": dump_expert_model(model)}
        elif isinstance(model, TrainedModel):
            files = model.files()
        else:
            raise TypeError(f"model {model.version} ({type(model).__name__}) has no documents")
        challenger = engine.challenger
        return cls(
            policy=PolicyDocument.of(engine.policy, engine.compiled),
            challenger=None
            if challenger is None
            else PolicyDocument.of(challenger.compiled.policy, challenger.compiled),
            model_kind=model.kind,
            model_version=model.version,
            model_files=tuple((name, Document.of(text)) for name, text in sorted(files.items())),
            bands=Document.of(dump_bands(engine.bands)),
            bands_version=engine.bands.version,
        )

    @property
    def key(self) -> str:
        """One hash naming every document: the executor's cache key."""
        parts = [self.policy.policy.sha256, self.policy.lineage_hash, self.bands.sha256]
        parts += [d.sha256 for _, d in self.model_files]
        if self.challenger is not None:
            parts += [self.challenger.policy.sha256, self.challenger.lineage_hash]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def build(self) -> Built:
        files = {name: doc.checked() for name, doc in self.model_files}
        model: RiskModel
        if self.model_kind == EXPERT_KIND:
            model = load_expert_model(files["model.json"])
        else:
            model = load_model(self.model_kind, files)
        if model.version != self.model_version:  # a registry version names the artefact
            model = load_model(self.model_kind, files).with_version(self.model_version)
        bands = replace(load_bands(self.bands.checked()), version=self.bands_version)
        challenger = None if self.challenger is None else self.challenger.compile()
        return Built(self.policy.compile(), challenger, model, bands)


@dataclass(frozen=True, slots=True)
class Built:
    """An engine rebuilt on an executor."""

    policy: CompiledPolicy
    challenger: CompiledPolicy | None
    model: RiskModel
    bands: TierBands


_BUILT: dict[str, Built] = {}
"""Engines rebuilt in this executor process, by documents key: Spark reuses its Python
workers across tasks, so each compiles the policy once per run, not once per partition."""


def built(documents: EngineDocuments) -> Built:
    key = documents.key
    if key not in _BUILT:
        _BUILT.clear()  # a new run's engine replaces the last one
        _BUILT[key] = documents.build()
    return _BUILT[key]


@dataclass(frozen=True, slots=True)
class PartitionJob:
    """What every partition of one run needs besides its rows."""

    documents: EngineDocuments
    as_of: datetime
    since: datetime
    database_url: str | None
    """Set: each partition reads its borrowers' events from this store (by borrower range);
    None: the events arrive in the partition (read from Parquet by Spark)."""


def decide_partition(
    batches: Iterator[pa.RecordBatch], job: PartitionJob
) -> Iterator[pa.RecordBatch]:
    """Decide one partition's borrowers; yields one row: the decisions (and the challenger's
    shadow decisions, when one runs) as Arrow IPC bytes. Empty partitions yield nothing."""
    received = list(batches)
    if not received:
        return
    rows = pl.from_arrow(pa.Table.from_batches(received))
    assert isinstance(rows, pl.DataFrame)
    spine = rows.filter(pl.col(ROW_KIND) == BORROWER_ROW).sort("borrower_id")
    if spine.height == 0:
        return
    borrowers = spine["borrower_id"].to_list()
    previous = spine.select("borrower_id", *PREVIOUS_COLUMNS)
    events = _events(rows, job, low=borrowers[0], high=borrowers[-1])
    engine = built(job.documents)
    shadow: pl.DataFrame | None = None
    if engine.challenger is None:
        decisions = decide(
            events, as_of=job.as_of, model=engine.model, bands=engine.bands,
            policy=engine.policy, previous=previous, borrowers=borrowers,
        )  # fmt: skip
    else:
        decisions, shadow = decide_with_challenger(
            events, as_of=job.as_of, model=engine.model, bands=engine.bands,
            policy=engine.policy, challenger=engine.challenger, previous=previous,
            borrowers=borrowers,
        )  # fmt: skip
    yield pa.RecordBatch.from_pydict(
        {"decisions": [to_ipc(decisions)], "shadow": [None if shadow is None else to_ipc(shadow)]},
        schema=pa.schema([("decisions", pa.binary()), ("shadow", pa.binary())]),
    )


def _events(rows: pl.DataFrame, job: PartitionJob, *, low: str, high: str) -> pl.DataFrame:
    if job.database_url is None:
        # The shuffle scrambled the events; put them back in the order `repayguard ingest`
        # appends them (file by file, row by row) and keep each event_id's first, as ingest
        # does: features then sum the same floats in the same order as the in-process driver.
        return (
            rows.filter(pl.col(ROW_KIND) == EVENT_ROW)
            .sort(ORDER_FILE, ORDER_ROW)
            .unique("event_id", keep="first", maintain_order=True)
            .select(EVENT_SCHEMA.names())
            .cast(dict(EVENT_SCHEMA.items()))
        )
    engine = make_engine(job.database_url)
    try:
        return ingestion.scan_borrower_range(
            engine, low=low, high=high, since=job.since, until=job.as_of
        )
    finally:
        engine.dispose()


def to_ipc(frame: pl.DataFrame) -> bytes:
    """A frame as Arrow IPC bytes: exact types both ways, unlike a Spark schema."""
    sink = io.BytesIO()
    frame.write_ipc(sink)
    return sink.getvalue()


def from_ipc(data: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(data))
