"""The LightGBM challenger: a boosted-tree PD model stored in LightGBM's own text format.

The artefact is two files: the booster as LightGBM writes it (``lightgbm.txt``) and a JSON
document with what LightGBM does not keep — the inputs with their reasons, the category
vocabularies (a category becomes its index in the sorted training vocabulary; unseen categories
and nulls are missing), the calibration and the gain importance. Reasons come from LightGBM's
native per-input contributions (TreeSHAP, in log-odds): the inputs that pushed a row's score up
most, each given only when the value lies on the side its reason states relative to the
input's training median (a "low on-time ratio" only below the median; a missing value gives its
own code, such as ``NO_REPAYMENT_HISTORY``, or nothing). Artefacts stored without medians give
no directional reasons until retrained. They cost about a millisecond a row, so callers ask
for them only for the rows that need an explanation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Self

import lightgbm as lgb
import numpy as np
import polars as pl

from repayguard.core.reasons import NO_REFERENCE, Reference
from repayguard.core.scoring.calibration import Calibration
from repayguard.core.scoring.inputs import InputColumn, check_columns
from repayguard.core.scoring.points import FloatArray, ReasonColumn, checked_reasons

KIND: Final = "lightgbm"
FORMAT: Final = "repayguard.lightgbm/1"
BOOSTER_FILE: Final = "lightgbm.txt"
META_FILE: Final = "lightgbm.json"
DEFAULT_PARAMS: Final[Mapping[str, Any]] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
}
DEFAULT_TREES: Final = 200


class GbmModelInvalid(ValueError):
    """A LightGBM artefact that cannot be used; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class GbmModel:
    """A trained LightGBM model; satisfies :class:`~repayguard.core.scoring.RiskModel`."""

    version: str
    booster_text: str
    inputs: tuple[InputColumn, ...]
    vocabularies: Mapping[str, tuple[str, ...]]
    calibration: Calibration = field(default_factory=Calibration)
    target: str = ""
    trees: int = 0
    importance: Mapping[str, float] = field(default_factory=dict)
    medians: Mapping[str, float] = field(default_factory=dict)
    """Training median of each numeric input: where its reasons' "low" and "high" begin."""
    kind: str = KIND
    _booster: lgb.Booster = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            booster = lgb.Booster(model_str=self.booster_text)
        except lgb.basic.LightGBMError as exc:
            raise GbmModelInvalid(f"LightGBM cannot read the booster: {exc}") from exc
        if booster.num_feature() != len(self.inputs):
            raise GbmModelInvalid(
                f"the booster has {booster.num_feature()} inputs, the document {len(self.inputs)}"
            )
        object.__setattr__(self, "_booster", booster)

    def with_version(self, version: str) -> Self:
        return replace(self, version=version)

    def with_calibration(self, calibration: Calibration) -> Self:
        return replace(self, calibration=calibration)

    def matrix(self, frame: pl.DataFrame) -> FloatArray:
        """The inputs as LightGBM reads them: float64, categories as vocabulary indices."""
        check_columns(frame, self.inputs, self.version)
        return _matrix(frame, self.inputs, self.vocabularies)

    def raw_score(self, frame: pl.DataFrame) -> FloatArray:
        """Uncalibrated log-odds per row."""
        if frame.height == 0:
            return np.zeros(0)
        raw = self._booster.predict(self.matrix(frame), raw_score=True)
        return np.asarray(raw, dtype=np.float64)

    def predict_pd(self, features: pl.DataFrame) -> pl.Series:
        """Calibrated PD per row, same order as the input."""
        return pl.Series("pd", self.calibration.apply(self.raw_score(features)), dtype=pl.Float64)

    def contributions(self, frame: pl.DataFrame) -> FloatArray:
        """Per-row, per-input contributions to the log-odds (rows x inputs; bias dropped)."""
        if frame.height == 0:
            return np.zeros((0, len(self.inputs)))
        out = self._booster.predict(self.matrix(frame), pred_contrib=True)
        return np.asarray(out, dtype=np.float64)[:, : len(self.inputs)]

    def reasons(self, features: pl.DataFrame, top: int = 4) -> pl.Series:
        """Reason codes of the inputs that raised each row's log-odds most (positive only)."""
        references = self.reason_references()
        columns = [
            ReasonColumn(i.reason_code, i.side, i.missing_code, references[i.name])
            for i in self.inputs
        ]
        values = self.matrix(features) if features.height else np.zeros((0, len(self.inputs)))
        return checked_reasons(self.contributions(features), values, columns, top)

    def reason_references(self) -> dict[str, Reference]:
        """Input -> its training median as the line between "low" and "high" (low below it,
        high above it); NO_REFERENCE for categories and artefacts stored without medians."""
        return {
            i.name: Reference(m, math.nextafter(m, math.inf))
            if (m := self.medians.get(i.name)) is not None
            else NO_REFERENCE
            for i in self.inputs
        }

    def card(self) -> dict[str, Any]:
        """What a reviewer reads about the model itself (the registry adds data and metrics)."""
        return {
            "kind": self.kind,
            "version": self.version,
            "inputs": [i.name for i in self.inputs],
            "trees": self.trees,
            "gain_importance": {k: round(v, 4) for k, v in self.importance.items()},
            "calibration": self.calibration.method,
        }

    def files(self) -> dict[str, str]:
        """The artefact: the booster in LightGBM's text format and the JSON document."""
        doc = {
            "format": FORMAT,
            "kind": KIND,
            "version": self.version,
            "target": self.target,
            "trees": self.trees,
            "inputs": [i.as_dict() for i in self.inputs],
            "vocabularies": {k: list(v) for k, v in self.vocabularies.items()},
            "calibration": self.calibration.as_dict(),
            "importance": dict(self.importance),
            "medians": dict(self.medians),
        }
        meta = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
        return {BOOSTER_FILE: self.booster_text, META_FILE: meta + "\n"}

    @classmethod
    def fit(
        cls,
        frame: pl.DataFrame,
        target: Any,
        inputs: Sequence[InputColumn],
        *,
        version: str = "unversioned",
        target_name: str = "",
        trees: int = DEFAULT_TREES,
        seed: int = 0,
        threads: int = 2,
        monotone: bool = True,
        params: Mapping[str, Any] | None = None,
    ) -> GbmModel:
        """Train ``trees`` boosting rounds on 0/1 ``target``; declared risk directions become
        monotone constraints when ``monotone``."""
        check_columns(frame, inputs, version)
        y = np.asarray(target, dtype=np.float64)
        if y.shape != (frame.height,) or y.min() == y.max():
            raise GbmModelInvalid("target must hold one 0/1 value per row, with both outcomes")
        vocabularies = {
            i.name: tuple(sorted(frame.get_column(i.name).cast(pl.String).drop_nulls().unique()))
            for i in inputs
            if i.categorical
        }
        matrix = _matrix(frame, inputs, vocabularies)
        config = {**DEFAULT_PARAMS, **(params or {}), "seed": seed, "num_threads": threads}
        if monotone and any(i.direction for i in inputs):
            config["monotone_constraints"] = [0 if i.categorical else i.direction for i in inputs]
        categorical = [n for n, i in enumerate(inputs) if i.categorical]
        data = lgb.Dataset(
            matrix, label=y, categorical_feature=categorical or "auto", free_raw_data=True
        )
        booster = lgb.train(config, data, num_boost_round=trees)
        gains = booster.feature_importance(importance_type="gain")
        return cls(
            version=version,
            booster_text=booster.model_to_string(),
            inputs=tuple(inputs),
            vocabularies=vocabularies,
            target=target_name,
            trees=booster.num_trees(),
            importance={i.name: float(g) for i, g in zip(inputs, gains, strict=True)},
            medians=_medians(matrix, inputs),
        )


def _matrix(
    frame: pl.DataFrame, inputs: Sequence[InputColumn], vocabularies: Mapping[str, Sequence[str]]
) -> FloatArray:
    """The inputs as one C-ordered float64 matrix (NaN for missing), built in one Polars pass."""
    columns = []
    for column in inputs:
        value = pl.col(column.name)
        if column.categorical:
            lookup = {c: float(i) for i, c in enumerate(vocabularies[column.name])}
            value = value.cast(pl.String).replace_strict(
                lookup, default=None, return_dtype=pl.Float64
            )
        columns.append(value.cast(pl.Float64).fill_null(math.nan).alias(column.name))
    if not columns:
        return np.zeros((frame.height, 0))
    return np.ascontiguousarray(frame.select(columns).to_numpy(), dtype=np.float64)


def _medians(matrix: FloatArray, inputs: Sequence[InputColumn]) -> dict[str, float]:
    """Median of each numeric input's present training values (inputs never present: none)."""
    out = {}
    for n, column in enumerate(inputs):
        present = matrix[:, n][~np.isnan(matrix[:, n])]
        if not column.categorical and present.size:
            out[column.name] = float(np.median(present))
    return out


def load_gbm(booster_text: str, meta_text: str) -> GbmModel:
    """Rebuild a LightGBM model from its two files; raises GbmModelInvalid on any problem."""
    try:
        doc = json.loads(meta_text)
        if doc.get("format") != FORMAT or doc.get("kind") != KIND:
            raise GbmModelInvalid(f"expected format {FORMAT!r} and kind {KIND!r}")
        return GbmModel(
            version=str(doc["version"]),
            booster_text=booster_text,
            inputs=tuple(InputColumn.from_dict(i) for i in doc["inputs"]),
            vocabularies={str(k): tuple(map(str, v)) for k, v in doc["vocabularies"].items()},
            calibration=Calibration.from_dict(doc["calibration"]),
            target=str(doc.get("target", "")),
            trees=int(doc.get("trees", 0)),
            importance={str(k): float(v) for k, v in doc.get("importance", {}).items()},
            medians={str(k): float(v) for k, v in doc.get("medians", {}).items()},
        )
    except GbmModelInvalid:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GbmModelInvalid(f"not a valid LightGBM model document: {exc!r}") from exc
