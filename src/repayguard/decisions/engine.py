"""The decision engine in effect: the policy, the risk model and the tier bands, loaded once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from repayguard import policies, resources
from repayguard.core.policy import CompiledPolicy, Policy
from repayguard.core.scoring import RiskModel
from repayguard.core.scoring.expert import load_expert_model
from repayguard.core.tiers import TierBands, load_bands
from repayguard.entitlements import MethodStates

DEFAULT_POLICY = "policies/cn-default.yaml"
DEFAULT_MODEL = "models/expert-v1.json"
DEFAULT_BANDS = "tiers/bands-v1.json"


@dataclass(frozen=True, slots=True)
class DecisionEngine:
    """What turns event history into decisions; immutable, shared by every driver."""

    policy: Policy
    compiled: CompiledPolicy
    model: RiskModel
    bands: TierBands

    def with_model(self, model: RiskModel) -> DecisionEngine:
        """The same engine deciding with another risk model (after a promotion)."""
        return replace(self, model=model)

    @property
    def defaults(self) -> MethodStates:
        """The policy's default-row states: what a borrower has before any decision."""
        row = self.compiled.default_outputs
        return MethodStates(
            row["auto_debit"], row["early_repayment"], row["manual"], tuple(row["manual_channels"])
        )


def load_engine(
    *,
    policy_path: Path | None,
    model_path: Path | None,
    bands_path: Path | None,
    model: RiskModel | None = None,
) -> DecisionEngine:
    """Load the engine from files, or the shipped defaults where a path is not given.

    The risk model is, in order of precedence: the points-table file at ``model_path`` (an
    explicit setting wins), ``model`` (the registry's production version), the shipped expert
    model.
    """
    known = policies.profiles()
    policy = policies.load_policy_text(_text(policy_path, DEFAULT_POLICY), profiles=known)
    if model_path is not None or model is None:
        model = load_expert_model(_text(model_path, DEFAULT_MODEL))
    return DecisionEngine(
        policy=policy,
        compiled=policies.compile_checked(policy, profiles=known),
        model=model,
        bands=load_bands(_text(bands_path, DEFAULT_BANDS)),
    )


def _text(path: Path | None, default: str) -> str:
    return path.read_text(encoding="utf-8") if path is not None else resources.read_text(default)
