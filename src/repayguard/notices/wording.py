"""The words notices use, in en and zh-CN: method and state names, channels, policy inputs,
values and dates. Reason texts come from the reason catalog (``core/reasons.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any, Final, Literal

Direction = Literal["lower", "higher", "skip"]

METHOD_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "auto_debit": {"en": "Automatic debit", "zh-CN": "自动扣款"},
    "early_repayment": {"en": "Early repayment", "zh-CN": "提前还款"},
    "manual": {"en": "Repaying by hand", "zh-CN": "手动还款"},
    "manual_channels": {"en": "Channels for repaying by hand", "zh-CN": "手动还款渠道"},
}

STATE_NAMES: Final[Mapping[str, Mapping[str, Mapping[str, str]]]] = {
    "auto_debit": {
        "optional": {
            "en": "available, on or off as you choose",
            "zh-CN": "可选（可自行开启或关闭）",
        },
        "mandatory": {
            "en": "always on: instalments are collected on the due date",
            "zh-CN": "强制开启：到期日自动扣款",
        },
        "disabled": {"en": "stopped", "zh-CN": "已停用"},
    },
    "early_repayment": {
        "allowed": {"en": "available", "zh-CN": "可用"},
        "restricted": {"en": "restricted", "zh-CN": "受限"},
    },
    "manual": {
        "allowed": {"en": "available", "zh-CN": "可用"},
        "forced": {
            "en": "required: you start and confirm every payment yourself",
            "zh-CN": "必须由您本人发起并确认每笔还款",
        },
    },
}

CHANNEL_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "app_balance": {"en": "app balance", "zh-CN": "App余额"},
    "bank_card": {"en": "linked bank card", "zh-CN": "绑定的银行卡"},
    "bank_transfer": {"en": "bank transfer", "zh-CN": "银行转账"},
    "counter": {"en": "partner counter", "zh-CN": "合作网点柜台"},
}

INPUTS: Final[Mapping[str, tuple[Mapping[str, str], Direction | None, bool]]] = {
    # name: (label per locale, which way is better for the borrower, shown as a percentage)
    "tier": ({"en": "your risk group", "zh-CN": "您的风险等级"}, "lower", False),
    "pd": (
        {
            "en": "the estimated chance of falling 30+ days behind",
            "zh-CN": "逾期30天以上的预估概率",
        },
        "lower",
        True,
    ),
    "dpd_now": ({"en": "days overdue today", "zh-CN": "当前逾期天数"}, "lower", False),
    "max_dpd_90d": (
        {"en": "the most days overdue in the last 90 days", "zh-CN": "近90天最长逾期天数"},
        "lower",
        False,
    ),
    "failed_debits_30d": (
        {"en": "failed automatic debits in the last 30 days", "zh-CN": "近30天自动扣款失败次数"},
        "lower",
        False,
    ),
    "on_time_ratio_180d": (
        {
            "en": "the share of instalments paid on time in the last 180 days",
            "zh-CN": "近180天按时还款的比例",
        },
        "higher",
        True,
    ),
    "early_repayments_30d": (
        {"en": "early repayments in the last 30 days", "zh-CN": "近30天提前还款次数"},
        None,
        False,
    ),
    "redraws_after_early_30d": (
        {
            "en": "new drawdowns soon after an early repayment (last 30 days)",
            "zh-CN": "近30天提前还款后很快再次借款的次数",
        },
        "lower",
        False,
    ),
    "utilization": (
        {"en": "the share of your credit limit in use", "zh-CN": "额度使用率"},
        "lower",
        True,
    ),
    # A borrower is never advised to open an appeal or hardship request to change a decision.
    "open_appeal": ({"en": "an open appeal", "zh-CN": "进行中的申诉"}, "skip", False),
    "open_hardship": (
        {"en": "an open hardship request", "zh-CN": "进行中的困难援助申请"}, "skip", False
    ),
}  # fmt: skip

_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_YES_NO: Final = {"en": ("yes", "no"), "zh-CN": ("是", "否")}
_SEPARATOR: Final = {"en": ", ", "zh-CN": "、"}


def method_name(method: str, locale: str) -> str:
    return METHOD_NAMES.get(method, {}).get(locale, method)


def state_name(method: str, state: str, locale: str) -> str:
    return STATE_NAMES.get(method, {}).get(state, {}).get(locale, state)


def channel_name(channel: str, locale: str) -> str:
    return CHANNEL_NAMES.get(channel, {}).get(locale, channel)


def channel_list(channels: Iterable[str], locale: str) -> str:
    return join((channel_name(c, locale) for c in channels), locale)


def join(items: Iterable[str], locale: str) -> str:
    return _SEPARATOR.get(locale, ", ").join(items)


def labelled(label: str, value: str, locale: str) -> str:
    """``label: value`` with the locale's colon."""
    return f"{label}：{value}" if locale == "zh-CN" else f"{label}: {value}"


def in_sentence(name: str, locale: str) -> str:
    """A name as it reads inside an English sentence (lower-case first letter)."""
    return name[:1].lower() + name[1:] if locale == "en" else name


def input_label(name: str, locale: str, fallback: str | None = None) -> str:
    """A policy input in plain words; inputs of a lender's own policy use its description."""
    known = INPUTS.get(name)
    if known is not None:
        return known[0].get(locale, name)
    return fallback or name.replace("_", " ")


def better_direction(name: str) -> Direction | None:
    """Which way an input must move for the borrower's benefit (None: either way)."""
    known = INPUTS.get(name)
    return known[1] if known is not None else None


def value_text(name: str, value: Any, locale: str) -> str:
    """A value of an input as a borrower reads it (ratios as percentages)."""
    if isinstance(value, bool):
        yes, no = _YES_NO.get(locale, _YES_NO["en"])
        return yes if value else no
    if isinstance(value, int | float):
        known = INPUTS.get(name)
        if known is not None and known[2]:
            return f"{value * 100:.0f}%"
        return f"{value:d}" if isinstance(value, int) else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def moment_text(moment: datetime, locale: str, zone: tzinfo) -> str:
    """A date and time in the notice's time zone, written the locale's way."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    shown = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    if locale == "zh-CN":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（{shown}）"
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M} ({shown})"
