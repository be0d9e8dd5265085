"""The reason-code catalog: every code a model or policy may give, in plain en and zh-CN.

A decision carries at most four principal reasons (guardrail G6). Codes are stable identifiers
stored with decisions; texts are what borrowers and agents read and may be reworded freely.

Every model reason names a feature and states a direction ("low on-time ratio", "high
utilization"); :data:`DIRECTIONS` records it, and :func:`consistent` tells whether a
borrower's value lies on that side of a model's :class:`Reference` (a reason that contradicts
the value it speaks of is never given). A missing value has its own honest codes
(``NO_REPAYMENT_HISTORY``, ``NO_ACCOUNT_DATA``, ``NO_BUREAU_REPORT``), or none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np

from repayguard.core.features import FEATURES

LOCALES: Final = ("en", "zh-CN")
MAX_REASONS: Final = 4


@dataclass(frozen=True, slots=True)
class Reason:
    """One explained reason: its stable code and the text in the requested language."""

    code: str
    text: str


class UnknownReasonCode(KeyError):
    """A reason code that is not in the catalog."""


_T = dict[str, str]

_MODEL_FACTORS: Final[dict[str, _T]] = {
    spec.reason_code: {"en": spec.reason_en, "zh-CN": spec.reason_zh} for spec in FEATURES
}
"""What raised the estimated risk: one code per declared feature (texts live with the feature)."""

_MISSING_FACTORS: Final[dict[str, _T]] = {
    "NO_REPAYMENT_HISTORY": {
        "en": "There is not enough repayment history yet to show how reliably you repay.",
        "zh-CN": "您的还款记录尚不足以反映还款情况。",
    },
    "NO_ACCOUNT_DATA": {
        "en": "We have no information about the balance of your linked account.",
        "zh-CN": "我们暂无您绑定账户的余额信息。",
    },
    "NO_BUREAU_REPORT": {
        "en": "We have no credit bureau report for you yet.",
        "zh-CN": "我们暂未获得您的征信报告。",
    },
}
"""What a model gives when a value it needs is missing and that raises the estimated risk."""

_CATALOG: Final[dict[str, _T]] = {
    **_MODEL_FACTORS,
    **_MISSING_FACTORS,
    # -- policy reasons: why a row applied --------------------------------------------------------
    "REPEATED_FAILED_DEBITS": {
        "en": "Automatic debits failed repeatedly, so we stopped them to spare you failed-debit "
        "fees; please repay through a free manual channel.",
        "zh-CN": "自动扣款多次失败，为避免产生扣款失败费用已暂停自动扣款；"
        "请通过免费的手动渠道还款。",
    },
    "DPD_30_PLUS": {
        "en": "A payment has been overdue for 30 days or more.",
        "zh-CN": "有还款已逾期30天及以上。",
    },
    "HIGH_RISK_TIER": {
        "en": "Your account is in our highest risk group.",
        "zh-CN": "您的账户处于最高风险等级。",
    },
    "ELEVATED_RISK_TIER": {
        "en": "Your account is in an elevated risk group.",
        "zh-CN": "您的账户处于较高风险等级。",
    },
    "EARLY_DELINQUENCY": {
        "en": "A payment is a few days overdue.",
        "zh-CN": "有还款已逾期数天。",
    },
    "EARLY_REPAY_REDRAW_CYCLING": {
        "en": "Repeated early repayment followed by borrowing again; early repayment is limited "
        "for a while.",
        "zh-CN": "多次提前还款后又再次借款，提前还款暂时受限。",
    },
    "LOW_RISK_RESTORED": {
        "en": "Your repayment record has improved, so all repayment methods are available again.",
        "zh-CN": "您的还款记录已改善，所有还款方式已恢复。",
    },
    "RESTRICTION_EXPIRED": {
        "en": "The time limit of the earlier restriction has passed, so your repayment methods "
        "are back to the standard terms.",
        "zh-CN": "此前限制的期限已到，您的还款方式已恢复为标准条款。",
    },
    "DEFAULT_TERMS": {
        "en": "Standard repayment terms apply.",
        "zh-CN": "适用标准还款条款。",
    },
    "EMERGENCY_MARKET_STRESS": {
        "en": "A temporary emergency measure applies to borrowers in your risk group during "
        "current market stress; it ends on its own and is reviewed by a second person.",
        "zh-CN": "当前市场波动期间，对您所在风险等级的借款人实施临时应急措施；"
        "该措施到期自动结束，并经第二人复核。",
    },
    "EMERGENCY_MEASURE": {
        "en": "A temporary emergency measure applies to borrowers in your risk group; it ends "
        "on its own and is reviewed by a second person.",
        "zh-CN": "对您所在风险等级的借款人实施临时应急措施；该措施到期自动结束，并经第二人复核。",
    },
    "APPEAL_PENDING": {
        "en": "Your appeal is being reviewed; your repayment methods stay as they are until then.",
        "zh-CN": "您的申诉正在处理中，处理完成前还款方式保持不变。",
    },
    "HARDSHIP_PENDING": {
        "en": "Your hardship request is being reviewed; no new restrictions apply until then.",
        "zh-CN": "您的困难援助申请正在处理中，处理完成前不会增加新的限制。",
    },
    "NOT_YET_ASSESSED": {
        "en": "Your account has not been assessed yet, so standard repayment terms apply.",
        "zh-CN": "您的账户尚未完成评估，适用标准还款条款。",
    },
    "MANUAL_FLOW_REQUIRED": {
        "en": "Payments on your account must be made and confirmed by you through a manual "
        "channel.",
        "zh-CN": "您的账户需要通过手动渠道由您本人发起并确认还款。",
    },
    "CHANNEL_NOT_OFFERED": {
        "en": "This repayment channel is not offered on your account; please use one of the "
        "channels listed.",
        "zh-CN": "您的账户不支持该还款渠道，请使用所列的其他渠道还款。",
    },
    "MANUAL_OVERRIDE": {
        "en": "A member of our team set your repayment methods after a review, confirmed by a "
        "second person; this lasts until the date shown.",
        "zh-CN": "经工作人员复核并由另一名人员确认，您的还款方式已调整，有效期至所示日期。",
    },
    "FREE_CHANNEL_GUARANTEED": {
        "en": "A free manual repayment channel was kept available for you.",
        "zh-CN": "已为您保留一个免费的手动还款渠道。",
    },
}

CATALOG: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {code: MappingProxyType(texts) for code, texts in _CATALOG.items()}
)
"""code -> locale -> text. Every code has a text in every locale of LOCALES."""


def is_known(code: str) -> bool:
    """True when ``code`` is in the catalog."""
    return code in CATALOG


def principal(codes: Iterable[str], limit: int = MAX_REASONS) -> list[str]:
    """The first ``limit`` distinct codes, in the given order (most important first)."""
    out: list[str] = []
    for code in codes:
        if code not in out:
            out.append(code)
            if len(out) == limit:
                break
    return out


def explain(
    codes: Iterable[str],
    locale: str,
    extra: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Reason]:
    """Plain-language texts of the (at most four) principal reasons, most important first.

    ``extra`` adds texts for codes outside the catalog (a model trained on an analyst's own
    columns brings its own reason texts). Raises UnknownReasonCode for a code in neither and
    ValueError for an unsupported locale.
    """
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}; choose one of {LOCALES}")
    result = []
    for code in principal(codes):
        texts = CATALOG.get(code) or (extra or {}).get(code)
        if texts is None or locale not in texts:
            raise UnknownReasonCode(code)
        result.append(Reason(code, texts[locale]))
    return result


# -- directions: what a model reason claims about the borrower's value ---------------------------

Side = Literal["high", "low", "missing"]


@dataclass(frozen=True, slots=True)
class Direction:
    """What a model reason code states: its feature's value is ``high``, ``low`` or ``missing``."""

    feature: str
    side: Side


def _directions() -> dict[str, tuple[Direction, ...]]:
    out: dict[str, list[Direction]] = {}
    for spec in FEATURES:
        side: Side | None = "high" if spec.reason_side > 0 else "low" if spec.reason_side else None
        if side is not None:
            out.setdefault(spec.reason_code, []).append(Direction(spec.name, side))
        if spec.missing_code:
            out.setdefault(spec.missing_code, []).append(Direction(spec.name, "missing"))
    return {code: tuple(found) for code, found in out.items()}


DIRECTIONS: Final[Mapping[str, tuple[Direction, ...]]] = MappingProxyType(_directions())
"""Model reason code -> what it states, per feature it may speak of (a missing code may speak
of several features: NO_BUREAU_REPORT of the score, the inquiries and the external debt)."""


def stated_side(code: str, feature: str) -> int:
    """What ``code`` states about ``feature``'s value: 1 high, -1 low, 0 nothing (a code
    outside the catalog's directions, such as an analyst's own column's)."""
    for stated in DIRECTIONS.get(code, ()):
        if stated.feature == feature and stated.side != "missing":
            return 1 if stated.side == "high" else -1
    return 0


@dataclass(frozen=True, slots=True)
class Reference:
    """Where a model puts the line between "low", neither, and "high" for one input.

    A value is *low* when below ``low_below`` and *high* when at or above ``high_from``. A
    points model uses its best bin ``[lower, upper)`` (values inside it score best, so a value
    in it is neither); LightGBM uses the training median ``m`` (low below it, high above it).
    """

    low_below: float
    high_from: float


NO_REFERENCE: Final = Reference(-math.inf, math.inf)
"""A reference nothing is on either side of: a directional reason is then never given."""


def consistent(side: Side | int, value: float | None, reference: Reference) -> bool:
    """True when ``value`` lies on the ``side`` a reason states (1/-1 are high/low; 0: the
    reason states no direction, so any present value will do)."""
    missing = value is None or math.isnan(value)
    if side == "missing":
        return missing
    if missing:
        return False
    assert value is not None
    if side in ("high", 1):
        return value >= reference.high_from
    if side in ("low", -1):
        return value < reference.low_below
    return True


def holds(
    code: str,
    values: Mapping[str, np.ndarray[Any, np.dtype[np.float64]]],
    references: Mapping[str, Reference],
    *,
    rows: int,
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per row, whether ``code``'s stated direction holds for the borrowers' ``values``
    (feature -> float64 array, NaN where missing) against the model's ``references``
    (feature -> Reference; one not given: NO_REFERENCE, so a directional code fails); a
    feature absent from ``values`` fails too. ``rows`` is the number of borrowers.

    A code without a stated direction (an analyst's own column's) holds everywhere; a
    directional code holds where one feature it speaks of is on its side.
    """
    stated = DIRECTIONS.get(code)
    if stated is None:
        return np.ones(rows, dtype=np.bool_)
    out = np.zeros(rows, dtype=np.bool_)
    for d in stated:
        if d.feature not in values:
            continue
        x = values[d.feature]
        ref = references.get(d.feature, NO_REFERENCE)
        missing = np.isnan(x)
        with np.errstate(invalid="ignore"):
            if d.side == "missing":
                out |= missing
            elif d.side == "high":
                out |= ~missing & (x >= ref.high_from)
            else:
                out |= ~missing & (x < ref.low_below)
    return out
