"""Decisions: drive the decision core online and in batch, log each decision with lineage."""

from repayguard.decisions.consumers import OnlineHandler
from repayguard.decisions.engine import DecisionEngine, load_engine
from repayguard.decisions.repository import latest_inputs
from repayguard.decisions.service import (
    DecideBorrowers,
    DecisionRunReport,
    decide_borrowers,
    summarise,
)

__all__ = [
    "DecideBorrowers",
    "DecisionEngine",
    "DecisionRunReport",
    "OnlineHandler",
    "decide_borrowers",
    "latest_inputs",
    "load_engine",
    "summarise",
]
