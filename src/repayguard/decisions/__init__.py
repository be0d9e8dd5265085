"""Decisions: drive the decision core online and in batch, log each decision with lineage."""

from repayguard.decisions import triggers
from repayguard.decisions.consumers import OnlineHandler
from repayguard.decisions.engine import (
    DEFAULT_POLICY,
    UNPUBLISHED,
    Challenger,
    DecisionEngine,
    EngineSlot,
    load_engine,
    open_slot,
)
from repayguard.decisions.lineage import LoggedDecision, find_decision, recent_decisions
from repayguard.decisions.messages import (
    GUARDRAIL_APPLIED,
    RUN_COMPLETED,
    GuardrailApplied,
    RunCompleted,
)
from repayguard.decisions.outlook import Outlook, what_would_change
from repayguard.decisions.replay import VerifyReplay, verify_replay
from repayguard.decisions.replay_digest import Divergence, ReplayVerdict, RunAgreement
from repayguard.decisions.repository import (
    LOGGED_SCHEMA,
    decision_log_between,
    inputs_of,
    latest_inputs,
)
from repayguard.decisions.runs import RunInfo, due_borrowers, recent_runs
from repayguard.decisions.service import (
    DecideBorrowers,
    DecisionRunReport,
    decide_borrowers,
    logged_outcome,
    run_outcomes,
)
from repayguard.decisions.shadow_log import (
    logged_states,
    runs_between,
    shadow_counts,
    shadow_disagreements,
    shadow_latest_pairs,
    shadow_transitions,
)
from repayguard.decisions.spark import DecideOnSpark, decide_on_spark, open_spark, spark_session
from repayguard.decisions.writer import (
    RunStamp,
    RunTally,
    summarise,
    write_decisions,
)

__all__ = [
    "DEFAULT_POLICY",
    "GUARDRAIL_APPLIED",
    "LOGGED_SCHEMA",
    "RUN_COMPLETED",
    "UNPUBLISHED",
    "Challenger",
    "DecideBorrowers",
    "DecideOnSpark",
    "DecisionEngine",
    "DecisionRunReport",
    "Divergence",
    "EngineSlot",
    "GuardrailApplied",
    "LoggedDecision",
    "OnlineHandler",
    "Outlook",
    "ReplayVerdict",
    "RunAgreement",
    "RunCompleted",
    "RunInfo",
    "RunStamp",
    "RunTally",
    "VerifyReplay",
    "decide_borrowers",
    "decide_on_spark",
    "decision_log_between",
    "due_borrowers",
    "find_decision",
    "inputs_of",
    "latest_inputs",
    "load_engine",
    "logged_outcome",
    "logged_states",
    "open_slot",
    "open_spark",
    "recent_decisions",
    "recent_runs",
    "run_outcomes",
    "runs_between",
    "shadow_counts",
    "shadow_disagreements",
    "shadow_latest_pairs",
    "shadow_transitions",
    "spark_session",
    "summarise",
    "triggers",
    "verify_replay",
    "what_would_change",
    "write_decisions",
]
