"""Render a notice in the borrower's language: Jinja2 templates per locale and kind; for a change
of methods at most four plain-language reasons and what would change the outcome (G6), for
another occasion (a complaint) the facts its caller gives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from repayguard.core.policy.explain import alternatives
from repayguard.core.policy.inputs import InputsInvalid, coerce_inputs
from repayguard.core.reasons import CATALOG, LOCALES, principal
from repayguard.errors import NoticesMisconfigured
from repayguard.notices import wording
from repayguard.notices.planning import OCCASION_KINDS, MethodChange, NoticeKind, NoticePlan

log = structlog.get_logger(__name__)

TEMPLATES: Final = Path(__file__).parent / "templates"
MAX_OUTLOOK: Final = 3
"""At most this many "what would change the outcome" items per notice (smallest changes first)."""


@dataclass(frozen=True, slots=True)
class Outlook:
    """One thing that would change the outcome: ``input`` moving from ``before`` to ``after``
    would loosen ``loosens`` (and tighten nothing)."""

    input: str
    before: Any
    after: Any
    loosens: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "before": self.before,
            "after": self.after,
            "loosens": list(self.loosens),
        }


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
    ``<locale>/<kind>.txt.j2``) replace the shipped ones of the same name.
    """

    def __init__(
        self,
        *,
        policy: Callable[[], CompiledPolicy],
        zone: tzinfo,
        templates_dir: Path | None = None,
    ) -> None:
        self._policy = policy
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

    def outlook(self, plan: NoticePlan, inputs: Mapping[str, Any] | None) -> tuple[Outlook, ...]:
        """What would change the outcome for a still-restricted borrower: per policy input the
        smallest single change that loosens a method and tightens none, keeping only moves in
        the borrower's favour (never "fail more debits" or "open an appeal")."""
        if inputs is None or not plan.still_restricted:
            return ()
        compiled = self._policy()
        try:
            typed = coerce_inputs(compiled.policy, inputs)
        except InputsInvalid as invalid:
            # The decision was taken under another policy version whose inputs differ.
            log.warning("notices.outlook_unavailable", reason=str(invalid))
            return ()
        states = plan.entitlement.states.as_dict()
        found: list[Outlook] = []
        for alternative in alternatives(compiled, typed, states):
            if not _in_favour(alternative.input, alternative.before, alternative.after):
                continue
            found.append(
                Outlook(
                    alternative.input,
                    _plain(alternative.before),
                    _plain(alternative.after),
                    alternative.loosens,
                )
            )
            if len(found) == MAX_OUTLOOK:
                break
        return tuple(found)

    def render(
        self, plan: NoticePlan, locale: str, outlook: tuple[Outlook, ...] = ()
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
                    "label": wording.input_label(o.input, locale, descriptions.get(o.input)),
                    "before": wording.value_text(o.input, o.before, locale),
                    "after": wording.value_text(o.input, o.after, locale),
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
