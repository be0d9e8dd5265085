"""Evaluating a model on labelled rows: discrimination, calibration, distribution, stability."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import polars as pl

from repayguard.core.scoring.metrics import (
    CalibrationRow,
    auc,
    brier,
    calibration_table,
    gini,
    ks,
    log_loss,
    roc_curve,
)
from repayguard.core.scoring.models import TrainedModel
from repayguard.core.scoring.points import FloatArray
from repayguard.core.scoring.profile import Profile

ROC_POINTS: Final = 200
HISTOGRAM_BINS: Final = 20


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How a model's PDs fare against outcomes on one data set (all rates are fractions).

    ``roc`` is (false positive rates, true positive rates), thinned to about 200 points;
    ``histogram`` holds PD bin edges and the count of events and non-events per bin; ``psi``
    is the PD's stability index against training and ``psi_inputs`` each input's (empty when
    no training profile was given).
    """

    rows: int
    events: int
    event_rate: float
    mean_pd: float
    auc: float
    ks: float
    gini: float
    brier: float
    log_loss: float
    calibration: tuple[CalibrationRow, ...]
    roc: tuple[tuple[float, ...], tuple[float, ...]]
    histogram: tuple[tuple[float, ...], tuple[int, ...], tuple[int, ...]]
    psi: float | None
    psi_inputs: dict[str, float]

    def headline(self) -> dict[str, float]:
        """The figures a list or a model card shows first."""
        return {"auc": self.auc, "ks": self.ks, "gini": self.gini, "event_rate": self.event_rate}

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["calibration"] = [asdict(row) for row in self.calibration]
        out["roc"] = {"fpr": list(self.roc[0]), "tpr": list(self.roc[1])}
        edges, events, nonevents = self.histogram
        out["histogram"] = {
            "edges": list(edges),
            "events": list(events),
            "non_events": list(nonevents),
        }
        return out


def evaluate_scores(
    target: Any, pd: Any, *, profile: Profile | None = None, frame: pl.DataFrame | None = None
) -> Evaluation:
    """Evaluate given PDs against 0/1 outcomes (PSI when a training profile is given)."""
    y = np.asarray(target, dtype=np.float64)
    p = np.asarray(pd, dtype=np.float64)
    curve = roc_curve(y, p)
    step = max(1, curve.fpr.size // ROC_POINTS)
    keep = np.unique(np.r_[np.arange(0, curve.fpr.size, step), curve.fpr.size - 1])
    psi_score: float | None = None
    psi_inputs: dict[str, float] = {}
    if profile is not None:
        psi_score, psi_inputs = profile.psi(
            frame if frame is not None else pl.DataFrame(), pl.Series("pd", p)
        )
    return Evaluation(
        rows=int(y.size),
        events=int(y.sum()),
        event_rate=float(y.mean()) if y.size else float("nan"),
        mean_pd=float(p.mean()) if p.size else float("nan"),
        auc=auc(y, p),
        ks=ks(y, p),
        gini=gini(y, p),
        brier=brier(y, p),
        log_loss=log_loss(y, p),
        calibration=tuple(calibration_table(y, p)),
        roc=(tuple(curve.fpr[keep].tolist()), tuple(curve.tpr[keep].tolist())),
        histogram=_histogram(y, p),
        psi=psi_score,
        psi_inputs=psi_inputs,
    )


def evaluate(
    model: TrainedModel, frame: pl.DataFrame, target: Any, *, profile: Profile | None = None
) -> Evaluation:
    """Score ``frame`` with ``model`` and evaluate against ``target``."""
    pd = model.predict_pd(frame).to_numpy()
    return evaluate_scores(target, pd, profile=profile, frame=frame)


def _histogram(
    y: FloatArray, p: FloatArray
) -> tuple[tuple[float, ...], tuple[int, ...], tuple[int, ...]]:
    """PD histogram on a log-spaced grid (PDs span orders of magnitude), per outcome."""
    if p.size == 0:
        return (), (), ()
    low = max(float(p.min()), 1e-5)
    high = min(max(float(p.max()), low * 1.01), 1.0)
    edges = np.geomspace(low, high, HISTOGRAM_BINS + 1)
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, HISTOGRAM_BINS - 1)
    events = np.bincount(index[y == 1], minlength=HISTOGRAM_BINS)
    nonevents = np.bincount(index[y == 0], minlength=HISTOGRAM_BINS)
    return tuple(edges.tolist()), tuple(events.tolist()), tuple(nonevents.tolist())
