"""Render a notice in the borrower's language: Jinja2 templates per locale and kind; for a change
of methods at most four plain-language reasons and what would change the outcome (G6), for
another occasion (a complaint) the facts its caller gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final

import structlog
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    pass_context,
)
from jinja2.runtime import Context

from repayguard.core.policy import CompiledPolicy
from repayguard.core.policy.counterfactual import WHY_NONE, Alternative, RiskMove, search
from repayguard.core.policy.inputs import InputsInvalid, coerce_inputs
from repayguard.core.reasons import CATALOG, LOCALES, principal
from repayguard.notices import wording
from repayguard.notices.errors import NoticesMisconfigured
from repayguard.notices.planning import OCCASION_KINDS, MethodChange, NoticeKind, NoticePlan

log = structlog.get_logger(__name__)

TEMPLATES: Final = Path(__file__).parent / "templates"
MAX_OUTLOOK: Final = 3
"""At most this many "what would change the outcome" items per notice (smallest changes first)."""


@dataclass(frozen=True, slots=True)
class Outlook:
    """One thing that would change the outcome: the ``changes`` (input, before, after), made
    together, would loosen ``loosens`` (and tighten nothing); ``tier`` is the (before, after)
    risk tier they would bring, when the outcome depends on it."""

    changes: tuple[tuple[str, Any, Any], ...]
    loosens: tuple[str, ...]
    tier: tuple[Any, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "changes": [{"input": n, "before": b, "after": a} for n, b, a in self.changes],
            "loosens": list(self.loosens),
        }
        if self.tier is not None:
            out["tier"] = {"before": self.tier[0], "after": self.tier[1]}
        return out


@dataclass(frozen=True, slots=True)
class Prospects:
    """What would change the outcome (smallest change first), iterable as its items; when
    there are none, ``why_none`` says why (a ``counterfactual.WHY_NONE`` code), so no notice
    leaves the question unanswered."""

    items: tuple[Outlook, ...] = ()
    why_none: str | None = None

    def __iter__(self) -> Iterator[Outlook]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class RenderedNotice:
    subject: str
    body: str
    reasons: tuple[str, ...]
    """The principal reason codes the notice states (at most four)."""


class NoticeComposer:
    """Writes notices: which template, which words, what would change the outcome.

    ``policy`` returns the compiled policy in effect (what-would-change is worked out against
    it); ``zone`` is the time zone dates are written in; templates in ``templates_dir`` (named
    ``<locale>/<kind>.txt.j2``) replace the shipped ones of the same name; ``risk`` returns how
    a change of actionable inputs moves the tier under the model in force (None: not modelled).
    """

    def __init__(
        self,
        *,
        policy: Callable[[], CompiledPolicy],
        zone: tzinfo,
        templates_dir: Path | None = None,
        risk: Callable[[], RiskMove | None] | None = None,
    ) -> None:
        self._policy = policy
        self._risk = risk
        self._zone = zone
        folders = [str(templates_dir)] if templates_dir is not None else []
        self._env = Environment(
            loader=FileSystemLoader([*folders, str(TEMPLATES)]),
            undefined=StrictUndefined,
            autoescape=False,  # plain text: channels escape for their own medium
            trim_blocks=True,
            lstrip_blocks=True,
        )

        # Occasion templates get raw facts and word them in the notice's locale with these.
        @pass_context
        def moment(context: Context, value: datetime) -> str:
            return wording.moment_text(value, context["locale"], zone)

        @pass_context
        def method(context: Context, value: str) -> str:
            return wording.method_name(value, context["locale"])

        self._env.filters["moment"] = moment
        self._env.filters["method"] = method

    def check_templates(self) -> None:
        """Fail at start-up, naming the file, when a template is missing or does not parse."""
        for locale in LOCALES:
            for kind in NoticeKind:
                name = f"{locale}/{kind.value}.txt.j2"
                try:
                    self._env.get_template(name)
                except TemplateNotFound:
                    raise NoticesMisconfigured(f"notice template {name} is missing") from None
                except TemplateSyntaxError as bad:
                    raise NoticesMisconfigured(
                        f"notice template {bad.filename or name} line {bad.lineno}: {bad.message}"
                    ) from None

    def outlook(self, plan: NoticePlan, inputs: Mapping[str, Any] | None) -> Prospects:
        """What would change the outcome for a still-restricted borrower: the counterfactual
        search (``core/policy/counterfactual.py``: actionable inputs only, one or several,
        smallest change first), keeping only moves in the borrower's favour (never "fail more
        debits" or "open an appeal"); or why nothing would."""
        if not plan.still_restricted:
            return Prospects()
        if inputs is None:
            return Prospects(why_none="unavailable")
        compiled = self._policy()
        try:
            typed = coerce_inputs(compiled.policy, inputs)
        except InputsInvalid as invalid:
            # The decision was taken under another policy version whose inputs differ.
            log.warning("notices.outlook_unavailable", reason=str(invalid))
            return Prospects(why_none="unavailable")
        states = plan.entitlement.states.as_dict()
        keep = compiled.evaluate_row(typed).keep
        risk = self._risk() if self._risk is not None else None
        found = search(compiled, typed, states, decided_keep=keep, risk=risk)
        items = [_outlook(a) for a in found.alternatives if _favourable(a)][:MAX_OUTLOOK]
        return Prospects(tuple(items), None if items else found.why_none or "not_actionable")

    def render(
        self, plan: NoticePlan, locale: str, outlook: Prospects | tuple[Outlook, ...] = ()
    ) -> RenderedNotice:
        """The notice's subject and body in ``locale`` (en or zh-CN)."""
        if locale not in LOCALES:
            raise ValueError(f"no notice templates for locale {locale!r}; use one of {LOCALES}")
        entitlement = plan.entitlement
        codes = tuple(principal(entitlement.reasons))
        descriptions = {
            name: spec.description for name, spec in self._policy().policy.inputs.items()
        }
        context = {
            "kind": plan.kind.value,
            "locale": locale,
            "effective": self._when(plan.effective_at, locale),
            "taken": [_change_line(c, locale) for c in plan.changes if c.tightens],
            "given": [_change_line(c, locale) for c in plan.changes if not c.tightens],
            "methods": _summary(entitlement.states.as_dict(), locale),
            "reasons": [_reason_text(code, locale) for code in codes],
            "outlook": [
                {
                    "changes": [
                        {
                            "label": wording.input_label(name, locale, descriptions.get(name)),
                            "before": wording.value_text(name, before, locale),
                            "after": wording.value_text(name, after, locale),
                        }
                        for name, before, after in o.changes
                    ],
                    "tier": {"before": o.tier[0], "after": o.tier[1]} if o.tier else None,
                    "methods": wording.join(
                        (
                            wording.in_sentence(wording.method_name(m, locale), locale)
                            for m in o.loosens
                        ),
                        locale,
                    ),
                }
                for o in outlook
            ],
            "why_none": _why_none(outlook, locale),
            "channels": wording.channel_list(entitlement.states.manual_channels, locale),
            "review": self._when(entitlement.review_at, locale),
            "expires": self._when(entitlement.expires_at, locale),
        }
        return self._render(plan.kind, locale, context, codes)

    def render_occasion(
        self, kind: NoticeKind, locale: str, facts: Mapping[str, Any]
    ) -> RenderedNotice:
        """The notice of an occasion ``kind`` (a complaint received or resolved) in ``locale``.

        ``facts`` are raw values the template words itself: ``locale`` is added, and the
        filters ``moment`` (a datetime in the notices' time zone) and ``method`` (a method's
        name) write them in the notice's language."""
        if kind not in OCCASION_KINDS:
            raise ValueError(f"{kind.value!r} notices are planned from changes of methods")
        if locale not in LOCALES:
            raise ValueError(f"no notice templates for locale {locale!r}; use one of {LOCALES}")
        return self._render(kind, locale, {**facts, "kind": kind.value, "locale": locale}, ())

    def _render(
        self, kind: NoticeKind, locale: str, context: Mapping[str, Any], codes: tuple[str, ...]
    ) -> RenderedNotice:
        template = self._env.get_template(f"{locale}/{kind.value}.txt.j2")
        module = template.make_module(dict(context))
        subject = str(getattr(module, "subject", "")).strip()
        if not subject:
            raise ValueError(f"notice template {template.name} sets no subject")
        return RenderedNotice(subject, str(module).strip() + "\n", codes)

    def _when(self, moment: datetime | None, locale: str) -> str | None:
        return wording.moment_text(moment, locale, self._zone) if moment is not None else None


def _reason_text(code: str, locale: str) -> str:
    texts = CATALOG.get(code)
    # A code outside the catalog (a lender's own model) is shown as its code, not dropped.
    return texts[locale] if texts is not None else code


def _change_line(change: MethodChange, locale: str) -> str:
    name = wording.method_name(change.method, locale)
    if change.method == "manual_channels":
        before = wording.channel_list(change.before, locale) or "-"
        after = wording.channel_list(change.after, locale) or "-"
    else:
        assert isinstance(change.before, str)
        assert isinstance(change.after, str)
        before = wording.state_name(change.method, change.before, locale)
        after = wording.state_name(change.method, change.after, locale)
    return wording.labelled(name, f"{before} → {after}", locale)


def _summary(states: Mapping[str, Any], locale: str) -> list[str]:
    lines = [
        wording.labelled(
            wording.method_name(m, locale), wording.state_name(m, states[m], locale), locale
        )
        for m in ("auto_debit", "early_repayment", "manual")
    ]
    channels = wording.channel_list(states["manual_channels"], locale)
    lines.append(wording.labelled(wording.method_name("manual_channels", locale), channels, locale))
    return lines


def _why_none(outlook: Prospects | tuple[Outlook, ...], locale: str) -> str | None:
    why = outlook.why_none if isinstance(outlook, Prospects) else None
    return WHY_NONE[why][locale] if why else None


def _outlook(alternative: Alternative) -> Outlook:
    own = [c for c in alternative.changes if not c.derived]
    tier = next((c for c in alternative.changes if c.derived and c.input == "tier"), None)
    return Outlook(
        tuple((c.input, _plain(c.before), _plain(c.after)) for c in own),
        alternative.loosens,
        (tier.before, tier.after) if tier is not None else None,
    )


def _favourable(alternative: Alternative) -> bool:
    """Every change the borrower would make is in their favour (derived ones follow)."""
    return all(_in_favour(c.input, c.before, c.after) for c in alternative.changes if not c.derived)


def _in_favour(name: str, before: Any, after: Any) -> bool:
    direction = wording.better_direction(name)
    if direction is None:
        return True
    if direction == "skip" or before is None or after is None:
        return False
    try:
        return bool(after < before) if direction == "lower" else bool(after > before)
    except TypeError:
        return False


def _plain(value: Any) -> Any:
    """A JSON-ready value (dates as ISO text)."""
    return value.isoformat() if hasattr(value, "isoformat") else value
