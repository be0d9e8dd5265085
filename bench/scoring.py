"""Benchmark: batch scoring of the trained models and scorecard reasons, rows per second.

Trains a scorecard and a 200-tree LightGBM on a synthetic portfolio's labelled snapshots, then
scores a frame of ``--rows`` borrowers (sampled from those snapshots) end to end, and measures
references in the same run: scikit-learn's ``LogisticRegression.predict_proba`` on the
already-binned WoE matrix (the scorecard's arithmetic without its binning) and LightGBM's own
``Booster.predict`` on a ready float64 matrix. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from repayguard.core.features import FEATURE_NAMES
from repayguard.core.labels import build_training_set
from repayguard.core.scoring import feature_inputs, fit_model, load_expert_model
from repayguard.core.scoring.gbm import GbmModel
from repayguard.core.scoring.scorecard import ScorecardModel
from repayguard.resources import read_text

from _common import median, portfolio, timed

TARGET_SCORECARD = 5_000_000
TARGET_LIGHTGBM = 150_000
TARGET_REASONS_SECONDS = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=20_000, help="portfolio to train on")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to score")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        portfolio(args.borrowers, Path(tmp))
        events = pl.read_parquet(Path(tmp) / "events-*.parquet")
    dates = [datetime(2025, m, 1, tzinfo=UTC) for m in (4, 5, 6, 7)]
    rows = build_training_set(events, dates, observed_until=datetime(2026, 1, 1, tzinfo=UTC))
    y = rows["label"].to_numpy()
    inputs = feature_inputs(FEATURE_NAMES)
    scorecard = fit_model("scorecard", rows, y, inputs, version="bench-scorecard")
    gbm = fit_model("lightgbm", rows, y, inputs, version="bench-lightgbm", trees=200)
    assert isinstance(scorecard, ScorecardModel)
    assert isinstance(gbm, GbmModel)
    pick = np.random.default_rng(0).integers(0, rows.height, args.rows)
    frame = rows.select(FEATURE_NAMES)[pick]

    sc = [timed(lambda: scorecard.predict_pd(frame))[0] for _ in range(args.repeat)]
    woe = _woe_matrix(scorecard, frame)
    reference = LogisticRegression().fit(woe[:20_000], y[pick[:20_000]])
    lr = [timed(lambda: reference.predict_proba(woe))[0] for _ in range(args.repeat)]

    part = frame.head(min(args.rows, 200_000))
    lgb_rows = [timed(lambda: gbm.predict_pd(part))[0] for _ in range(args.repeat)]
    matrix = gbm.matrix(part)
    booster = gbm._booster  # LightGBM's own predict, for the reference
    native = [timed(lambda: booster.predict(matrix, raw_score=True))[0] for _ in range(args.repeat)]

    ten = frame.head(10_000)
    expert = load_expert_model(read_text("models/expert-v1.json"))
    reasons = [timed(lambda: scorecard.reasons(ten))[0] for _ in range(args.repeat)]
    expert_reasons = [timed(lambda: expert.reasons(ten))[0] for _ in range(args.repeat)]
    gbm_reasons = timed(lambda: gbm.reasons(ten))[0]

    sc_rate = args.rows / median(sc)
    lgb_rate = part.height / median(lgb_rows)
    print(
        json.dumps(
            {
                "benchmark": "scoring",
                "cores": os.cpu_count(),
                "rows": args.rows,
                "trained_on_rows": rows.height,
                "scorecard": {
                    "inputs": len(scorecard.features),
                    "rows_per_second": round(sc_rate),
                    "includes": "binning every input, points, calibration, PD series",
                    "target_rows_per_second": TARGET_SCORECARD,
                    "meets_target": sc_rate >= TARGET_SCORECARD,
                    "reference": "sklearn LogisticRegression.predict_proba on the pre-binned "
                    "WoE matrix (no binning)",
                    "reference_rows_per_second": round(args.rows / median(lr)),
                },
                "lightgbm": {
                    "trees": gbm.trees,
                    "rows": part.height,
                    "rows_per_second": round(lgb_rate),
                    "target_rows_per_second": TARGET_LIGHTGBM,
                    "meets_target": lgb_rate >= TARGET_LIGHTGBM,
                    "reference": "lightgbm Booster.predict(raw_score=True) on a ready matrix",
                    "reference_rows_per_second": round(part.height / median(native)),
                },
                "reasons_10k": {
                    "scorecard_seconds": round(median(reasons), 4),
                    "target_seconds": TARGET_REASONS_SECONDS,
                    "meets_target": median(reasons) <= TARGET_REASONS_SECONDS,
                    "reference": "expert points model reasons (Polars) on the same rows",
                    "reference_seconds": round(median(expert_reasons), 4),
                    "lightgbm_contributions_seconds": round(gbm_reasons, 3),
                },
            },
            indent=2,
        )
    )


def _woe_matrix(model: ScorecardModel, frame: pl.DataFrame) -> np.ndarray:
    """Each input's WoE per row, as a modeller would feed scikit-learn after binning."""
    columns = []
    for feature in model.features:
        table = np.array([b.woe for b in feature.bins] + [feature.missing.woe])
        columns.append(table[feature.bin_index(frame)])
    return np.ascontiguousarray(np.column_stack(columns))


if __name__ == "__main__":
    warnings.simplefilter("error")
    main()
