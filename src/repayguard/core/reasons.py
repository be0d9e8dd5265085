"""The reason-code catalog: every code a model or policy may give, in plain en and zh-CN.

A decision carries at most four principal reasons (guardrail G6). Codes are stable identifiers
stored with decisions; texts are what borrowers and agents read and may be reworded freely.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

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

_CATALOG: Final[dict[str, _T]] = {
    # -- model factors: what raised the estimated risk ------------------------------------------
    "DPD_NOW": {
        "en": "An instalment is overdue right now.",
        "zh-CN": "您目前有一期还款已逾期。",
    },
    "MAX_DPD_90D": {
        "en": "A payment was overdue in the last 90 days.",
        "zh-CN": "近90天内曾有还款逾期。",
    },
    "FAILED_DEBITS_30D": {
        "en": "Automatic debits from your account failed in the last 30 days.",
        "zh-CN": "近30天内自动扣款失败。",
    },
    "LOW_ON_TIME_RATIO": {
        "en": "Fewer of your recent instalments were paid on time.",
        "zh-CN": "近期按时还款的期数偏少。",
    },
    "EARLY_REPAYMENTS_30D": {
        "en": "Many early repayments in the last 30 days.",
        "zh-CN": "近30天内提前还款次数较多。",
    },
    "REDRAW_AFTER_EARLY_30D": {
        "en": "Money was borrowed again soon after an early repayment.",
        "zh-CN": "提前还款后不久再次借款。",
    },
    "HIGH_UTILIZATION": {
        "en": "A large share of your credit limit is in use.",
        "zh-CN": "已使用的额度占比较高。",
    },
    "LOW_INFLOW_30D": {
        "en": "Little money came into your linked account in the last 30 days.",
        "zh-CN": "近30天内绑定账户的入账较少。",
    },
    "LOW_BALANCE": {
        "en": "The balance of your linked account is low.",
        "zh-CN": "绑定账户余额偏低。",
    },
    "DEVICE_CHANGES_30D": {
        "en": "The device used for your account changed recently.",
        "zh-CN": "近期更换了登录设备。",
    },
    "LOW_BUREAU_SCORE": {
        "en": "Your credit bureau score is low or unavailable.",
        "zh-CN": "征信评分偏低或暂无征信记录。",
    },
    "BUREAU_INQUIRIES_90D": {
        "en": "Several credit applications elsewhere in the last 90 days.",
        "zh-CN": "近90天内在其他机构有多次信贷申请查询。",
    },
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
    "DEFAULT_TERMS": {
        "en": "Standard repayment terms apply.",
        "zh-CN": "适用标准还款条款。",
    },
    "APPEAL_PENDING": {
        "en": "Your appeal is being reviewed; your repayment methods stay as they are until then.",
        "zh-CN": "您的申诉正在处理中，处理完成前还款方式保持不变。",
    },
    "HARDSHIP_PENDING": {
        "en": "Your hardship request is being reviewed; no new restrictions apply until then.",
        "zh-CN": "您的困难援助申请正在处理中，处理完成前不会增加新的限制。",
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


def explain(codes: Iterable[str], locale: str) -> list[Reason]:
    """Plain-language texts of the (at most four) principal reasons, most important first.

    Raises UnknownReasonCode for a code outside the catalog and ValueError for an unsupported
    locale.
    """
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}; choose one of {LOCALES}")
    result = []
    for code in principal(codes):
        texts = CATALOG.get(code)
        if texts is None:
            raise UnknownReasonCode(code)
        result.append(Reason(code, texts[locale]))
    return result
