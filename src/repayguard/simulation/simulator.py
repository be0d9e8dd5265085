"""One policy arm over a synthetic portfolio: borrowers live day by day, the real decision
core decides month by month, and its decisions take effect under the notice and expiry rules.

Each month-end the arm hands the month's events to :func:`repayguard.core.pipeline.decide` —
the same function, compiled policy, risk model and tier bands production uses — with the
previous decisions as ``previous``. A decided tightening takes effect ``notice_days`` later
(loosening at once, as in ``entitlements.interim_states``); a restriction lapses back to the
open states ``max_days`` after it took effect unless a later decision renews it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from repayguard.core.pipeline import decide, empty_previous
from repayguard.core.policy import CompiledPolicy
from repayguard.core.scoring import RiskModel
from repayguard.core.tiers import TierBands
from repayguard.simulation._crn import Draws
from repayguard.simulation._eventlog import EventLog
from repayguard.simulation._population import draw_population
from repayguard.simulation._reactive import Arm, Methods, step_day
from repayguard.simulation._state import ChunkState
from repayguard.simulation._timeline import build_calendar, draw_market
from repayguard.simulation.assumptions import Assumptions
from repayguard.simulation.spec import PortfolioSpec

BUCKETS: Final = ("current", "dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus")
_EDGES: Final = np.array([1, 30, 60, 90])
_CODES: Final = {
    "auto_debit": {"optional": 0, "mandatory": 1, "disabled": 2},
    "early_repayment": {"allowed": 0, "restricted": 1},
    "manual": {"allowed": 0, "forced": 1},
}
MONTHLY_SERIES: Final = (
    "dpd30_rate", "auto_debit_adoption", "restricted_auto_debit", "restricted_early_repayment",
    "restricted_manual", "failed_debits", "failed_debit_fees", "missed_payments", "notices",
    "complaints_expected",
)  # fmt: skip
"""Per-month figures an arm records (rates are shares of borrowers at the month's end)."""


@dataclass(frozen=True, slots=True)
class Engine:
    """What decides in an arm: a compiled policy, a risk model and tier bands."""

    label: str
    policy: CompiledPolicy
    model: RiskModel
    bands: TierBands


@dataclass(slots=True)
class ArmRun:
    """What one arm did on one seed: monthly series, transitions and per-borrower totals."""

    monthly: dict[str, NDArray[np.float64]]
    transitions: NDArray[np.int64]
    """Month-end to month-end bucket moves, ``[from, to]`` over :data:`BUCKETS`, summed."""
    borrowers: dict[str, NDArray[np.float64]]
    """Per borrower: ``missed``, ``fees``, ``failed_debits``, ``dpd_end``, ``loss``, ``risk``,
    ``enrolled_start``, ``complaints_expected``, and 1.0 where a method is restricted at the
    end: ``restricted_auto_debit``, ``restricted_early_repayment``, ``restricted_manual``."""
    trace: list[tuple[datetime, pl.DataFrame, pl.DataFrame]] = field(default_factory=list)
    """With ``trace``: per decision, (as_of, previous, decisions)."""
    events: pl.DataFrame | None = None
    """With ``trace``: every event the arm's borrowers produced, in the decision core's order
    (borrower_id, occurred_at, event_id)."""


@dataclass(slots=True)
class _Pending:
    auto_debit: NDArray[np.int8]
    early: NDArray[np.int8]
    manual: NDArray[np.int8]
    day: NDArray[np.int64]
    expire: NDArray[np.int64]


def _codes(decisions: pl.DataFrame, column: str) -> NDArray[np.int8]:
    return decisions[column].replace_strict(_CODES[column], return_dtype=pl.Int8).to_numpy()


def _bucket(dpd: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.searchsorted(_EDGES, dpd, side="right").astype(np.int64)


def run_arm(
    spec: PortfolioSpec,
    engine: Engine,
    assumptions: Assumptions,
    *,
    trace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ArmRun:
    """Simulate ``spec``'s portfolio for ``spec.months`` under ``engine``'s policy.

    Draws are common random numbers keyed by ``spec.seed`` (see :mod:`._crn`), so two engines
    on the same spec meet the same luck. ``progress`` gets the number of months done.
    """
    n, a = spec.borrowers, assumptions
    calendar = build_calendar(spec)
    market = draw_market(spec, np.random.SeedSequence([spec.seed, 1]))
    pop = draw_population(spec, n, np.random.default_rng(np.random.SeedSequence([spec.seed, 2])))
    draws = Draws(spec.seed, n)
    s = ChunkState.open(pop, spec, calendar.days)
    draws.load(0)
    methods = Methods.open(pop, draws.monthly("link"), a)
    pend = _Pending(
        methods.auto_debit.copy(), methods.early.copy(), methods.manual.copy(),
        np.full(n, -1, np.int64), np.full(n, -1, np.int64),
    )  # fmt: skip
    ids = pl.Series("borrower_id", [f"B{i:07d}" for i in range(1, n + 1)], pl.String)
    id_list = ids.to_list()
    seq = np.zeros(n, np.int64)
    history = _History()
    previous = empty_previous()
    hazard = market.job_loss_multiplier(spec.unemployment_rate)
    series = {k: np.zeros(spec.months) for k in MONTHLY_SERIES}
    transitions = np.zeros((len(BUCKETS), len(BUCKETS)), np.int64)
    complaints = np.zeros(n)
    last_bucket = np.zeros(n, np.int64)
    run = ArmRun(series, transitions, {})
    days = calendar.days
    for month in range(spec.months):
        if month:
            draws.load(month)
        first = int(calendar.month_start_day[month])
        last = int(calendar.month_start_day[month + 1]) if month + 1 < spec.months else days
        log = EventLog()
        arm = Arm(spec, a, pop, draws, log)
        before = {k: v.copy() for k, v in (("f", s.failed_debits), ("m", methods.missed))}
        fees_before, complaints_before = methods.fees.sum(), complaints.sum()
        for t in range(first, last):
            notices = _take_effect(pend, methods, complaints, a, t)
            series["notices"][month] += notices
            methods.refresh(pop)
            step_day(
                arm, s, methods, t, int(calendar.day_of_month[t]), t - first,
                float(hazard[month]),
            )  # fmt: skip
        dpd = s.days_past_due(last)
        bucket = _bucket(dpd)
        if month:
            np.add.at(transitions, (last_bucket, bucket), 1)
        last_bucket = bucket
        series["dpd30_rate"][month] = float(np.mean(dpd >= 30))
        series["auto_debit_adoption"][month] = float(np.mean(methods.enrolled))
        series["restricted_auto_debit"][month] = float(np.mean(methods.auto_debit != 0))
        series["restricted_early_repayment"][month] = float(np.mean(methods.early != 0))
        series["restricted_manual"][month] = float(np.mean(methods.manual != 0))
        series["failed_debits"][month] = float((s.failed_debits - before["f"]).sum())
        series["failed_debit_fees"][month] = float(methods.fees.sum() - fees_before)
        series["missed_payments"][month] = float((methods.missed - before["m"]).sum())
        frame = log.to_frame(borrower_ids=ids, calendar=calendar, seq_offset=seq, by_borrower=True)
        who = _who(frame, n)
        seq += np.bincount(who, minlength=n)
        history.add(frame, who)
        if month + 1 < spec.months:
            as_of = spec.start.astimezone(UTC) + timedelta(days=last)
            events = history.events
            decisions = decide(
                events, as_of=as_of, model=engine.model, bands=engine.bands,
                policy=engine.policy, previous=previous, borrowers=id_list,
            )  # fmt: skip
            if trace:
                run.trace.append((as_of, previous, decisions))
            series["notices"][month] += _decided(decisions, pend, methods, last)
            previous = decisions.select(
                "borrower_id", "tier", "tier_since", "auto_debit", "early_repayment", "manual",
                "manual_channels",
            )  # fmt: skip
        series["complaints_expected"][month] = float(complaints.sum() - complaints_before)
        if progress is not None:
            progress(month + 1)
    exposure = (s.principal + s.arrears - s.billed) / 100.0
    loss = np.where(dpd >= a.default_dpd, exposure * a.loss_given_default, 0.0)
    run.borrowers = {
        "missed": methods.missed.astype(np.float64),
        "fees": methods.fees,
        "failed_debits": s.failed_debits.astype(np.float64),
        "dpd_end": dpd.astype(np.float64),
        "loss": loss,
        "risk": pop.risk,
        "enrolled_start": pop.enrolled.astype(np.float64),
        "complaints_expected": complaints,
        "restricted_auto_debit": (methods.auto_debit != 0).astype(np.float64),
        "restricted_early_repayment": (methods.early != 0).astype(np.float64),
        "restricted_manual": (methods.manual != 0).astype(np.float64),
    }
    if trace:
        run.events = history.events
    return run


class _History:
    """The arm's events so far, kept in the order the decision core sorts them into
    (borrower_id, occurred_at, event_id; ``core.features.history_until``).

    The core sorts every history it reads, so the order changes no decision; handed an
    already-ordered history its sort is several times cheaper than on month-by-month rows,
    and the whole history is re-decided at every month-end. A month's events are later than
    every earlier event, so each borrower's new rows go after their old ones: a stable sort
    by borrower index of the two runs keeps the order.
    """

    __slots__ = ("_who", "events")

    def __init__(self) -> None:
        self.events = pl.DataFrame()
        self._who = np.zeros(0, np.int64)

    def add(self, frame: pl.DataFrame, who: NDArray[np.int64]) -> None:
        """Append a month's ``frame`` (ordered by borrower; ``who`` its borrower indices)."""
        if self.events.is_empty():
            self.events, self._who = frame, who
            return
        joined = np.concatenate([self._who, who])
        order = np.argsort(joined, kind="stable")
        # One contiguous frame first: a gather over many chunks costs twice as much.
        self.events = pl.concat([self.events, frame], rechunk=True)[order]
        self._who = joined[order]


def _who(frame: pl.DataFrame, n: int) -> NDArray[np.int64]:
    numbers = frame["borrower_id"].str.slice(1).cast(pl.Int64).to_numpy() - 1
    return np.asarray(numbers, dtype=np.int64)


def _decided(decisions: pl.DataFrame, pend: _Pending, m: Methods, t: int) -> int:
    """Schedule a month-end's decisions; returns the notices they send (one per borrower whose
    methods change: an advance notice for a tightening, an explanation for a loosening)."""
    new = [_codes(decisions, c) for c in ("auto_debit", "early_repayment", "manual")]
    now = [m.auto_debit, m.early, m.manual]
    notice = decisions["notice_days"].fill_null(0).to_numpy().astype(np.int64)
    max_days = decisions["max_days"].fill_null(-1).to_numpy().astype(np.int64)
    changed = np.zeros(new[0].size, np.bool_)
    for target, cur, slot in zip(new, now, ("auto_debit", "early", "manual"), strict=True):
        changed |= target != cur
        # Loosening applies at once; a tightening waits for its notice period (a notice of
        # 0 days takes effect as the next day begins, through the same path).
        tightens = (target != cur) & (target != 0)
        cur[~tightens] = target[~tightens]
        setattr(pend, slot, target.copy())
    restricts = (new[0] != 0) | (new[1] != 0) | (new[2] != 0)
    pend.day = np.where(changed, t + notice, -1)
    pend.expire = np.where(restricts & (max_days >= 0), t + notice + max_days, -1)
    return int(changed.sum())


def _take_effect(
    pend: _Pending, m: Methods, complaints: NDArray[np.float64], a: Assumptions, t: int
) -> int:
    """Apply tightenings whose notice period ends today and lapse expired restrictions;
    returns the restoration notices sent. Newly effective restrictions add their expected
    complaints."""
    due = pend.day == t
    if due.any():
        p = (
            ((pend.auto_debit == 1) & (m.auto_debit != 1)) * a.complaint_auto_debit_mandatory
            + ((pend.auto_debit == 2) & (m.auto_debit != 2)) * a.complaint_auto_debit_disabled
            + ((pend.early == 1) & (m.early != 1)) * a.complaint_early_repayment_restricted
            + ((pend.manual == 1) & (m.manual != 1)) * a.complaint_manual_forced
        )
        complaints[due] += p[due]
        m.auto_debit[due], m.early[due], m.manual[due] = (
            pend.auto_debit[due], pend.early[due], pend.manual[due],
        )  # fmt: skip
        pend.day[due] = -1
    lapse = pend.expire == t
    if not lapse.any():
        return 0
    restored = lapse & ((m.auto_debit != 0) | (m.early != 0) | (m.manual != 0))
    for arr in (m.auto_debit, m.early, m.manual, pend.auto_debit, pend.early, pend.manual):
        arr[lapse] = 0
    pend.expire[lapse] = -1
    return int(restored.sum())
