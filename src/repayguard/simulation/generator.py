"""Writes a synthetic portfolio: event Parquet files per borrower chunk plus ground truth."""

from __future__ import annotations

import multiprocessing
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from repayguard.core.events import EVENT_TYPES, MANUAL_CHANNELS
from repayguard.simulation._dynamics import Outcome, simulate_chunk
from repayguard.simulation._eventlog import EventLog, market_frame
from repayguard.simulation._population import SEGMENT_NAMES, Population, draw_population
from repayguard.simulation._timeline import DAY_US, Calendar, build_calendar, draw_market
from repayguard.simulation.spec import PortfolioSpec

_EVENT_FILE: Final = re.compile(r"events-(\d{5,})\.parquet")
TRUTH_DIR: Final = "truth"
TRUTH_FILE: Final = "borrowers.parquet"
TRUTH_SCHEMA: Final = pl.Schema(
    {
        "borrower_id": pl.String(),
        "loan_id": pl.String(),
        "segment": pl.String(),
        "latent_risk": pl.Float64(),
        "monthly_income": pl.Float64(),
        "initial_limit": pl.Float64(),
        "auto_debit_enrolled": pl.Boolean(),
        "linked_account": pl.Boolean(),
        "preferred_channel": pl.String(),
        "due_day": pl.Int8(),
        "payday": pl.Int8(),
        "cycler": pl.Boolean(),
        "job_loss_days": pl.Int32(),
        "medical_shocks": pl.Int32(),
        "failed_debits": pl.Int32(),
        "early_repayments": pl.Int32(),
        "max_dpd": pl.Int32(),
        "ever_dpd30": pl.Boolean(),
        "ever_dpd90": pl.Boolean(),
        "first_dpd30_at": pl.Datetime("us", "UTC"),
        "arrears_end": pl.Float64(),
        "principal_end": pl.Float64(),
        "balance_end": pl.Float64(),
    }
)
"""Ground truth per borrower: latent traits and what actually happened (never events)."""


@dataclass(frozen=True, slots=True)
class GenerationSummary:
    """What a generation run wrote and how long it took."""

    borrowers: int
    months: int
    events_by_type: Mapping[str, int]
    """Event count per event type, in EVENT_TYPES order."""
    events_by_kind: Mapping[str, int]
    """Event count per ``type/kind`` (for example ``repayment/auto_debit_attempt``)."""
    files: tuple[Path, ...]
    """Event files in chunk order (``events-00000.parquet``, …)."""
    truth_file: Path
    total_events: int
    seconds: float


@dataclass(frozen=True, slots=True)
class _ChunkResult:
    index: int
    borrowers: int
    path: Path
    kinds: dict[str, int]
    truth: pl.DataFrame


def event_file_name(chunk: int) -> str:
    """File name of chunk ``chunk``'s events."""
    return f"events-{chunk:05d}.parquet"


def _id_width(borrowers: int) -> int:
    # Fixed width keeps lexicographic id order equal to numeric order within a run.
    return max(7, len(str(borrowers)))


def _run_chunk(
    spec: PortfolioSpec,
    index: int,
    seeds: tuple[np.random.SeedSequence, np.random.SeedSequence],
    out_dir: Path,
) -> _ChunkResult:
    """Simulate borrowers of chunk ``index`` and write their events; chunk 0 adds the market.

    ``seeds`` are the market's and this chunk's children of ``SeedSequence(spec.seed)``.
    """
    market_seed, chunk_seed = seeds
    first = index * spec.chunk_size
    n = min(spec.chunk_size, spec.borrowers - first)
    calendar = build_calendar(spec)
    market = draw_market(spec, market_seed)
    population_seed, dynamics_seed = chunk_seed.spawn(2)
    pop = draw_population(spec, n, np.random.default_rng(population_seed))
    log = EventLog()
    outcome = simulate_chunk(spec, pop, calendar, market, dynamics_seed, log)

    width = _id_width(spec.borrowers)
    numbers = range(first + 1, first + n + 1)
    ids = pl.Series("borrower_id", [f"B{i:0{width}d}" for i in numbers], pl.String)
    events = log.to_frame(borrower_ids=ids, calendar=calendar)
    if index == 0:
        events = pl.concat([events, market_frame(market, calendar)])
        events = events.sort("occurred_at", "event_id", maintain_order=True)
    path = out_dir / event_file_name(index)
    _write_atomically(events, path)
    kinds = events.group_by("type", "kind").len()
    counts = {f"{t}/{k}": int(c) for t, k, c in kinds.iter_rows()}
    return _ChunkResult(index, n, path, counts, _truth(ids, pop, outcome, calendar))


def _write_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Write then rename, so a crash never leaves a half-written file under its real name
    (readers pick ``*.parquet``; the temporary ``*.parquet.partial`` is not one)."""
    partial = path.with_name(path.name + ".partial")
    frame.write_parquet(partial, compression="zstd", statistics=True)
    partial.replace(path)


def _remove_stale_event_files(out_dir: Path, chunks: int) -> None:
    """Delete event files of an earlier, larger run into the same folder, so the folder
    holds exactly this portfolio (only files named like ours are touched)."""
    for path in out_dir.glob("events-*.parquet"):
        match = _EVENT_FILE.fullmatch(path.name)
        if match and int(match.group(1)) >= chunks:
            path.unlink()


def _truth(ids: pl.Series, pop: Population, outcome: Outcome, calendar: Calendar) -> pl.DataFrame:
    """Ground-truth rows of one chunk in TRUTH_SCHEMA layout."""
    first30 = pl.col("first30_day")
    frame = pl.DataFrame(
        {
            "borrower_id": ids,
            "loan_id": ids + "-L1",
            "segment": pl.Series(SEGMENT_NAMES).gather(pop.segment.astype(np.int64)),
            "latent_risk": pop.risk.round(6),
            "monthly_income": pop.income,
            "initial_limit": pop.limit_cents / 100.0,
            "auto_debit_enrolled": pop.enrolled,
            "linked_account": pop.linked,
            "preferred_channel": pl.Series(MANUAL_CHANNELS).gather(pop.channel.astype(np.int64)),
            "due_day": pop.due_dom,
            "payday": pop.payday_dom,
            "cycler": pop.cycler,
            "job_loss_days": outcome.job_loss_days,
            "medical_shocks": outcome.medical_shocks,
            "failed_debits": outcome.failed_debits,
            "early_repayments": outcome.early_repayments,
            "max_dpd": outcome.max_dpd,
            "first30_day": outcome.first_dpd30_day.astype(np.int64),
            "arrears_end": outcome.arrears_end,
            "principal_end": outcome.principal_end,
            "balance_end": outcome.balance_end,
        }
    ).with_columns(
        ever_dpd30=pl.col("max_dpd") >= 30,
        ever_dpd90=pl.col("max_dpd") >= 90,
        first_dpd30_at=pl.when(first30 >= 0).then(
            (first30 * DAY_US + calendar.start_us)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC")
        ),
    )
    return frame.select(TRUTH_SCHEMA.names()).cast(TRUTH_SCHEMA)


def generate_portfolio(
    spec: PortfolioSpec,
    out_dir: Path,
    *,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> GenerationSummary:
    """Generate the portfolio into ``out_dir``: one event file per chunk, then the truth file.

    Each chunk draws from its own ``SeedSequence(spec.seed)`` child, so the files are
    byte-identical for the same spec whatever ``workers`` is. ``progress`` receives the number
    of borrowers finished so far after each chunk. Event and truth files of an earlier run
    into the same folder are replaced (extra ``events-NNNNN.parquet`` beyond this run's
    chunks are deleted); other files in ``out_dir`` are left alone.
    """
    began = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks = spec.chunks
    children = np.random.SeedSequence(spec.seed).spawn(chunks + 1)
    seeds = [(children[0], children[i + 1]) for i in range(chunks)]
    results: list[_ChunkResult] = []
    finished = 0
    if workers <= 1 or chunks == 1:
        for index in range(chunks):
            results.append(_run_chunk(spec, index, seeds[index], out_dir))
            finished += results[-1].borrowers
            if progress is not None:
                progress(finished)
    else:
        # "spawn" rather than fork: forking a process that has started Polars' thread pool
        # can deadlock the child.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, chunks), mp_context=context) as pool:
            futures = [pool.submit(_run_chunk, spec, i, seeds[i], out_dir) for i in range(chunks)]
            for future in as_completed(futures):
                results.append(future.result())
                finished += results[-1].borrowers
                if progress is not None:
                    progress(finished)
    results.sort(key=lambda r: r.index)
    _remove_stale_event_files(out_dir, chunks)

    truth_path = out_dir / TRUTH_DIR / TRUTH_FILE
    truth_path.parent.mkdir(exist_ok=True)
    _write_atomically(pl.concat([r.truth for r in results]), truth_path)

    by_kind: dict[str, int] = {}
    for r in results:
        for key, count in r.kinds.items():
            by_kind[key] = by_kind.get(key, 0) + count
    by_type = {t: sum(c for k, c in by_kind.items() if k.split("/")[0] == t) for t in EVENT_TYPES}
    return GenerationSummary(
        borrowers=spec.borrowers,
        months=spec.months,
        events_by_type=by_type,
        events_by_kind=dict(sorted(by_kind.items())),
        files=tuple(r.path for r in results),
        truth_file=truth_path,
        total_events=sum(by_kind.values()),
        seconds=time.perf_counter() - began,
    )
