"""Decisions: drive the decision core online and in batch, log each decision with lineage."""

from repayguard.decisions.consumers import OnlineHandler
from repayguard.decisions.engine import DecisionEngine, load_engine
from repayguard.decisions.lineage import LoggedDecision, find_decision, recent_decisions
from repayguard.decisions.repository import inputs_of, latest_inputs
from repayguard.decisions.service import (
    DecideBorrowers,
    DecisionRunReport,
    decide_borrowers,
    logged_outcome,
    summarise,
)

__all__ = [
    "DecideBorrowers",
    "DecisionEngine",
    "DecisionRunReport",
    "LoggedDecision",
    "OnlineHandler",
    "decide_borrowers",
    "find_decision",
    "inputs_of",
    "latest_inputs",
    "load_engine",
    "logged_outcome",
    "recent_decisions",
    "summarise",
]
