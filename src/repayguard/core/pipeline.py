"""decide(): events to decisions in one pure, vectorized pass, with reasons and lineage.

features -> PD -> tier (hysteresis vs the previous tier) -> policy inputs -> policy (first hit)
-> ``keep`` resolved against the current entitlement -> guardrails -> decision rows. Nothing here
reads a clock, a database or a file: ``as_of`` and every artefact are parameters, so the same
call replays identically (batch, online micro-batch or simulation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import polars as pl

from repayguard.core.feature_parts import instant
from repayguard.core.features import as_utc, compute_features
from repayguard.core.policy import guardrails
from repayguard.core.policy.compiler import DTYPES, CompiledPolicy
from repayguard.core.policy.overlay import Overlay, apply_overlays
from repayguard.core.reasons import DIRECTIONS, MAX_REASONS, Reference, holds
from repayguard.core.scoring import RiskModel
from repayguard.core.tiers import SINCE_DTYPE, TIER_DTYPE, TierBands, assign_tiers, tier_label

METHOD_COLUMNS: Final = ("auto_debit", "early_repayment", "manual", "manual_channels")
FLAG_INPUTS: Final = ("open_appeal", "open_hardship")
FREE_STATES: Final = {"auto_debit": "optional", "early_repayment": "allowed", "manual": "allowed"}
"""Each method's unrestricted state: a borrower with all three needs no explanation."""
PREVIOUS_SCHEMA: Final = pl.Schema(
    {
        "borrower_id": pl.String(),
        "tier": TIER_DTYPE,
        "tier_since": SINCE_DTYPE,
        "auto_debit": pl.String(),
        "early_repayment": pl.String(),
        "manual": pl.String(),
        "manual_channels": pl.List(pl.String()),
    }
)
"""Columns of ``previous`` (current state per borrower); ``open_appeal`` and ``open_hardship``
(Boolean) may be added. Missing columns count as null."""

DECISION_COLUMNS: Final = (
    "borrower_id", "as_of", "pd", "tier", "tier_since", "model_version", "policy_version",
    "policy_hash", "rule_id", "auto_debit", "early_repayment", "manual", "manual_channels",
    "reasons", "requires_approval", "notice_days", "max_days", "review_after_days", "keep",
    "guardrail", "input_hash", "inputs", "overlay_id",
)  # fmt: skip


CHALLENGER_COLUMNS: Final = (
    "borrower_id", "policy_version", "policy_hash", "rule_id", "auto_debit", "early_repayment",
    "manual", "manual_channels", "reasons", "requires_approval", "notice_days", "guardrail",
)  # fmt: skip
"""What a challenger policy decided for each borrower (:func:`decide_with_challenger`)."""


def empty_previous() -> pl.DataFrame:
    """A ``previous`` frame with no borrowers (everyone decided for the first time)."""
    return pl.DataFrame(schema=PREVIOUS_SCHEMA)


def decide(
    events: pl.DataFrame,
    *,
    as_of: datetime,
    model: RiskModel,
    bands: TierBands,
    policy: CompiledPolicy,
    previous: pl.DataFrame,
    borrowers: Sequence[str] | None = None,
    overlays: Sequence[Overlay] = (),
) -> pl.DataFrame:
    """Decide every borrower's repayment methods at ``as_of``; one row per borrower.

    Rows: the borrowers of :func:`compute_features` (``borrowers`` exactly, when given).
    Columns: :data:`DECISION_COLUMNS`. ``keep`` rows carry the borrower's current methods from
    ``previous`` (or the default row's when there are none); ``reasons`` lists the policy row's
    reasons, then — for borrowers with a restriction (:func:`restricted`) — the model's that
    pass :func:`_checked` (their stated direction holds for the borrower's value), at most
    four; ``inputs`` is the canonical JSON of the policy inputs and ``input_hash`` its sha256,
    so equal inputs always hash equally. Armed emergency ``overlays`` tighten their segments
    over the policy's outcome, before the guardrail (:mod:`~repayguard.core.policy.overlay`);
    ``overlay_id`` names the one that changed a row.
    """
    prepared = _prepare(events, as_of, model, bands, previous, borrowers)
    return _decide(prepared, model, policy, overlays)


def decide_with_challenger(
    events: pl.DataFrame,
    *,
    as_of: datetime,
    model: RiskModel,
    bands: TierBands,
    policy: CompiledPolicy,
    challenger: CompiledPolicy,
    previous: pl.DataFrame,
    borrowers: Sequence[str] | None = None,
    overlays: Sequence[Overlay] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`decide` with ``policy``, and what ``challenger`` would decide beside it.

    Both read the same features, PD and tiers (computed once: the challenger adds only a
    policy evaluation), so they differ only where the policies do. The challenger frame has
    one row per borrower, in the same order, with :data:`CHALLENGER_COLUMNS`; its ``reasons``
    are the policy row's only (the model's explanation is the champion's cost to pay).
    Overlays apply to the champion only: the challenger shows what its policy alone decides.
    """
    prepared = _prepare(events, as_of, model, bands, previous, borrowers)
    champion = _decide(prepared, model, policy, overlays)
    other = guardrails.enforce(
        _resolve_keep(challenger.evaluate(prepared.inputs), prepared.prev), challenger
    )
    return champion, other.with_columns(
        pl.Series("borrower_id", prepared.features["borrower_id"]),
        pl.lit(challenger.version, pl.String).alias("policy_version"),
        pl.lit(challenger.content_hash, pl.String).alias("policy_hash"),
    ).select(CHALLENGER_COLUMNS)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What every policy decides from: features, previous states, PD, tiers, inputs."""

    at: datetime
    features: pl.DataFrame
    prev: pl.DataFrame
    pd: pl.Series
    tiers: pl.DataFrame
    inputs: pl.DataFrame


def _prepare(
    events: pl.DataFrame,
    as_of: datetime,
    model: RiskModel,
    bands: TierBands,
    previous: pl.DataFrame,
    borrowers: Sequence[str] | None,
) -> _Prepared:
    at = as_utc(as_of)
    features = compute_features(events, at, borrowers)
    prev = _aligned_previous(features.select("borrower_id"), previous)
    pd = model.predict_pd(features)
    tiers = assign_tiers(pd, prev.select("borrower_id", "tier", "tier_since"), at, bands)
    inputs = features.with_columns(
        pd.alias("pd"),
        tiers["tier"].alias("tier_number"),
        *(pl.Series(name, prev[name]).fill_null(False) for name in FLAG_INPUTS),
    ).with_columns(tier_label(pl.col("tier_number")).alias("tier"))
    return _Prepared(at, features, prev, pd, tiers, inputs)


def _decide(
    prepared: _Prepared, model: RiskModel, policy: CompiledPolicy, overlays: Sequence[Overlay]
) -> pl.DataFrame:
    at, features, prev, pd, tiers, inputs = (
        prepared.at, prepared.features, prepared.prev, prepared.pd, prepared.tiers,
        prepared.inputs,
    )  # fmt: skip
    declared = sorted(policy.input_types)
    canonical = inputs.select(
        pl.struct([_input_column(inputs, n, policy.input_types[n]) for n in declared])
        .struct.json_encode()
        .alias("inputs")
    )["inputs"]
    decisions = policy.evaluate(inputs)
    decisions = _resolve_keep(decisions, prev)
    decisions = apply_overlays(decisions, overlays, inputs=inputs, profile=policy.profile)
    decisions = guardrails.enforce(decisions, policy)
    model_reasons = _checked(_model_reasons(model, features, restricted(decisions)), features,
                             model.reason_references())  # fmt: skip
    return decisions.with_columns(
        pl.Series("borrower_id", features["borrower_id"]),
        instant(at).alias("as_of"),
        pd.alias("pd"),
        tiers["tier"],
        tiers["tier_since"],
        pl.lit(model.version, pl.String).alias("model_version"),
        pl.lit(policy.version, pl.String).alias("policy_version"),
        pl.lit(policy.content_hash, pl.String).alias("policy_hash"),
        pl.concat_list(pl.col("reasons"), pl.lit(model_reasons))
        .list.unique(maintain_order=True)
        .list.head(MAX_REASONS)
        .alias("reasons"),
        canonical,
        _sha256(canonical).alias("input_hash"),
    ).select(DECISION_COLUMNS)


def restricted(decisions: pl.DataFrame) -> pl.Series:
    """Rows whose methods are not all free: auto-debit not optional, early repayment not
    allowed, or manual repayment not freely allowed. Only these need an explanation."""
    return decisions.select(
        (pl.col("auto_debit") != FREE_STATES["auto_debit"])
        | (pl.col("early_repayment") != FREE_STATES["early_repayment"])
        | (pl.col("manual") != FREE_STATES["manual"])
    ).to_series()


def _model_reasons(model: RiskModel, features: pl.DataFrame, needed: pl.Series) -> pl.Series:
    """The model's reasons for the rows that need an explanation (empty lists elsewhere).

    Explaining costs far more than scoring for some models (LightGBM's per-feature
    contributions: about 250 µs a row), so only restricted borrowers are explained.
    """
    if needed.all():
        return model.reasons(features, top=MAX_REASONS)
    none = pl.lit([], pl.List(pl.String()))
    if not needed.any():
        return pl.select(pl.repeat(none, features.height).alias("reasons"))["reasons"]
    explained = model.reasons(features.filter(needed), top=MAX_REASONS)
    position = (needed.cast(pl.Int64).cum_sum() - 1).clip(0)  # row -> its explained row
    return pl.select(
        pl.when(needed).then(explained.gather(position)).otherwise(none).alias("reasons")
    )["reasons"]


def _checked(
    reasons: pl.Series, features: pl.DataFrame, references: Mapping[str, Reference]
) -> pl.Series:
    """The model's reasons less any whose stated direction the borrower's value contradicts.

    A model is trusted to explain, not to be right about what its codes say: "fewer of your
    instalments were paid on time" never reaches a borrower whose on-time ratio is at or above
    the model's reference, whatever the model returned.
    """
    flat = pl.DataFrame({"code": reasons}).with_row_index("row").explode("code")
    flat = flat.drop_nulls("code")
    if flat.height == 0:
        return reasons
    rows = flat["row"].to_numpy()
    codes = flat["code"]
    keep = np.ones(flat.height, dtype=np.bool_)
    for code in codes.unique().to_list():
        at = (codes == code).to_numpy()
        values = {
            d.feature: np.asarray(
                features[d.feature].cast(pl.Float64).fill_null(np.nan).to_numpy()[rows[at]],
                dtype=np.float64,
            )
            for d in DIRECTIONS.get(code, ())
            if d.feature in features.columns
        }
        keep[at] = holds(code, values, references, rows=int(at.sum()))
    kept = flat.filter(pl.Series(keep)).group_by("row", maintain_order=True).agg("code")
    spine = pl.DataFrame({"row": pl.int_range(0, reasons.len(), eager=True, dtype=pl.UInt32)})
    out = spine.join(kept, on="row", how="left", maintain_order="left")["code"]
    return out.fill_null(pl.lit([], pl.List(pl.String()))).alias("reasons")


def _aligned_previous(spine: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """``previous`` reordered to the spine, with every expected column (null when absent)."""
    columns = [
        pl.col(name).cast(dtype) if name in previous.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in {**PREVIOUS_SCHEMA, **dict.fromkeys(FLAG_INPUTS, pl.Boolean())}.items()
    ]
    prev = previous.select(columns).unique("borrower_id", keep="last", maintain_order=True)
    return spine.join(prev, on="borrower_id", how="left", maintain_order="left")


def _input_column(frame: pl.DataFrame, name: str, input_type: str) -> pl.Expr:
    """One policy input for the lineage JSON; an input the frame lacks is recorded as null."""
    dtype = DTYPES[input_type]
    if name not in frame.columns:
        return pl.lit(None, dtype).alias(name)
    if input_type in ("number", "integer"):  # NaN is null; a fractional integer input fails loudly
        return pl.col(name).cast(pl.Float64).fill_nan(None).cast(dtype).alias(name)
    if input_type == "date" and frame.schema[name] == pl.String:
        return pl.col(name).str.to_date("%Y-%m-%d").alias(name)
    return pl.col(name).cast(dtype).alias(name)


def _resolve_keep(decisions: pl.DataFrame, prev: pl.DataFrame) -> pl.DataFrame:
    """Where the row says keep and a current entitlement exists, carry it over unchanged."""
    has_current = prev["auto_debit"].is_not_null() & prev["manual"].is_not_null()
    use = decisions["keep"] & has_current
    return decisions.with_columns(
        pl.when(pl.lit(use)).then(pl.lit(prev[c])).otherwise(pl.col(c)).alias(c)
        for c in METHOD_COLUMNS
    )


def _sha256(texts: pl.Series) -> pl.Series:
    """sha256 hex per string; hashlib per value (Polars has no sha256 kernel), deterministic."""
    sha = hashlib.sha256
    return pl.Series([sha(t.encode()).hexdigest() for t in texts.to_list()], dtype=pl.String)
