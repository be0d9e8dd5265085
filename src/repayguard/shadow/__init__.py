"""Shadow mode, champion/challenger and counterfactual replay: prove a policy before it ships,
with restriction rates by group (fairness) in every comparison."""

from repayguard.shadow.fairness import (
    FairnessComparison,
    compare,
    profile_attributes,
    read_attributes,
    stated,
)
from repayguard.shadow.messages import (
    CHALLENGER_CHANGED,
    ChallengerChanged,
)
from repayguard.shadow.replay import LABEL, ReplayPolicy, ReplayReport, replay
from repayguard.shadow.service import (
    ChallengerInfo,
    SetChallenger,
    ShadowSummary,
    clear_challenger,
    current_challenger,
    list_disagreements,
    load_challenger,
    set_challenger,
    summary,
)

__all__ = [
    "CHALLENGER_CHANGED",
    "LABEL",
    "ChallengerChanged",
    "ChallengerInfo",
    "FairnessComparison",
    "ReplayPolicy",
    "ReplayReport",
    "SetChallenger",
    "ShadowSummary",
    "clear_challenger",
    "compare",
    "current_challenger",
    "list_disagreements",
    "load_challenger",
    "profile_attributes",
    "read_attributes",
    "replay",
    "set_challenger",
    "stated",
    "summary",
]
