"""Decisions: drive the decision core online and in batch, log each decision with lineage."""

from repayguard.decisions import triggers
from repayguard.decisions.consumers import OnlineHandler
from repayguard.decisions.engine import DecisionEngine, load_engine
from repayguard.decisions.lineage import LoggedDecision, find_decision, recent_decisions
from repayguard.decisions.repository import inputs_of, latest_inputs
from repayguard.decisions.runs import RunInfo, due_borrowers, recent_runs
from repayguard.decisions.service import (
    RUN_COMPLETED,
    DecideBorrowers,
    DecisionRunReport,
    decide_borrowers,
    logged_outcome,
    run_outcomes,
    summarise,
)

__all__ = [
    "RUN_COMPLETED",
    "DecideBorrowers",
    "DecisionEngine",
    "DecisionRunReport",
    "LoggedDecision",
    "OnlineHandler",
    "RunInfo",
    "decide_borrowers",
    "due_borrowers",
    "find_decision",
    "inputs_of",
    "latest_inputs",
    "load_engine",
    "logged_outcome",
    "recent_decisions",
    "recent_runs",
    "run_outcomes",
    "summarise",
    "triggers",
]
