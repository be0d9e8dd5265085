"""The thresholds file: the shipped one loads and watches every catalogue metric; a bad file
is refused naming the key; the content hash identifies the exact text."""

from __future__ import annotations

from pathlib import Path

import pytest

from repayguard.monitoring import METRIC_NAMES, CusumParams, EwmaParams, load_thresholds
from repayguard.monitoring.errors import ThresholdsInvalid
from repayguard.monitoring.thresholds import parse_thresholds

GOOD = """\
version: "t1"
lookback_days: 60
defaults: {warmup_days: 30, detectors: {ewma: {lambda: 0.3, width: 3.0}}}
metrics:
  overdue_rate_1p: {direction: up, segments: [T1, T2], min_denominator: 50}
  "market_signal:cpi": {detectors: {cusum: {k: 0.25, h: 8}}}
"""


def test_the_shipped_thresholds_watch_every_catalogue_metric() -> None:
    shipped = load_thresholds()
    # tier_migration is a transition matrix (25 segments, no worse direction): its moves show
    # in the overdue rates and restricted shares the file watches.
    assert {m.metric for m in shipped.metrics} >= set(METRIC_NAMES) - {"tier_migration"}
    assert all(m.warmup_days < shipped.lookback_days for m in shipped.metrics)
    assert len(shipped.sha256) == 64


def test_a_file_states_detectors_directions_segments_and_defaults() -> None:
    found = parse_thresholds(GOOD)
    overdue = found.get("overdue_rate_1p")
    assert overdue is not None
    assert overdue.direction == "up"
    assert overdue.segments == ("T1", "T2")
    assert overdue.watches("T1")
    assert not overdue.watches("T3")
    assert overdue.detectors == (EwmaParams(lam=0.3, width=3.0),)
    assert overdue.warmup_days == 30
    assert overdue.min_denominator == 50
    market = found.get("market_signal:cpi")
    assert market is not None
    assert market.detectors == (CusumParams(k=0.25, h=8.0),)
    assert market.direction == "both"
    assert market.watches("anything")


def test_the_override_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(GOOD)
    assert load_thresholds(path).version == "t1"
    assert load_thresholds(path).sha256 != parse_thresholds(GOOD + "\n").sha256


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("lambda: 0.3", "lambda: 1.5"), "metrics.overdue_rate_1p.detectors.ewma.lambda"),
        (("direction: up", "direction: sideways"), "metrics.overdue_rate_1p.direction"),
        (("overdue_rate_1p:", "overdue_rate_1x:"), "metrics.overdue_rate_1x"),
        (("min_denominator: 50", "min_denomintor: 50"), "metrics.overdue_rate_1p.min_denomintor"),
        (("k: 0.25", "kk: 0.25"), "metrics.market_signal:cpi.detectors.cusum.kk"),
        (('version: "t1"\n', ""), "version"),
        (("warmup_days: 30", "warmup_days: 60"), "metrics.overdue_rate_1p.warmup_days"),
        (("segments: [T1, T2]", "segments: []"), "metrics.overdue_rate_1p.segments"),
    ],
)
def test_a_bad_file_is_refused_naming_the_key(change: tuple[str, str], key: str) -> None:
    with pytest.raises(ThresholdsInvalid, match=f"thresholds: {key}:"):
        parse_thresholds(GOOD.replace(*change))


def test_an_unreadable_override_says_which_setting(tmp_path: Path) -> None:
    with pytest.raises(ThresholdsInvalid, match="cannot read the thresholds file") as refused:
        load_thresholds(tmp_path / "missing.yaml")
    assert "REPAYGUARD_MONITORING__THRESHOLDS_PATH" in (refused.value.hint or "")
