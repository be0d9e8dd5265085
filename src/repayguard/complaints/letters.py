"""Letters to the borrower about their case — received, resolved — in their language.

Rendered from Jinja2 templates ``templates/<locale>/<kind>.txt.j2`` (each sets ``subject``;
the rest is the body) and stored with the case, where the borrower reads them
(``GET /v1/borrowers/{id}/complaints``). Letters hold no personal data: no statement, no
agent's comment. The notices package delivers notices about changes of methods only; when it
takes notices of other kinds, these letters go through its inbox and channels instead (see
docs/complaints.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Final

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
)
from sqlalchemy.orm import Session

from repayguard import borrowers
from repayguard.complaints import repository
from repayguard.complaints.models import LETTER_KINDS, ComplaintLetterRow, ComplaintRow
from repayguard.core.reasons import LOCALES
from repayguard.errors import ConfigurationInvalid

TEMPLATES: Final = Path(__file__).parent / "templates"

CONTESTED_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "auto_debit": {"en": "Automatic debit", "zh-CN": "自动扣款"},
    "early_repayment": {"en": "Early repayment", "zh-CN": "提前还款"},
    "manual": {"en": "Repaying by hand", "zh-CN": "手动还款"},
    "manual_channels": {"en": "Channels for repaying by hand", "zh-CN": "手动还款渠道"},
}
_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def moment_text(moment: datetime, locale: str, zone: tzinfo) -> str:
    """A date and time in the letter's time zone, written the locale's way."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    shown = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    if locale == "zh-CN":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（{shown}）"
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M} ({shown})"


def contested_lines(methods: Iterable[str], locale: str) -> list[str]:
    return [CONTESTED_NAMES.get(m, {}).get(locale, m) for m in methods]


@dataclass(frozen=True, slots=True)
class Letter:
    subject: str
    body: str


class LetterWriter:
    """Renders and stores letters. ``zone``: the time zone dates are written in;
    ``default_locale``: for borrowers without a profile; templates in ``templates_dir``
    (``<locale>/<kind>.txt.j2``) replace the shipped ones of the same name."""

    def __init__(
        self, *, zone: tzinfo, default_locale: str, templates_dir: Path | None = None
    ) -> None:
        self._zone = zone
        self._default_locale = default_locale
        folders = [str(templates_dir)] if templates_dir is not None else []
        self._env = Environment(
            loader=FileSystemLoader([*folders, str(TEMPLATES)]),
            undefined=StrictUndefined,
            autoescape=False,  # plain text
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def check_templates(self) -> None:
        """Fail at start-up, naming the file, when a template is missing or does not parse."""
        for locale in LOCALES:
            for kind in LETTER_KINDS:
                name = f"{locale}/{kind}.txt.j2"
                try:
                    self._env.get_template(name)
                except TemplateNotFound:
                    raise ConfigurationInvalid(
                        f"complaint letter template {name} is missing"
                    ) from None
                except TemplateSyntaxError as bad:
                    raise ConfigurationInvalid(
                        f"complaint letter template {bad.filename or name} line {bad.lineno}: "
                        f"{bad.message}"
                    ) from None

    def render(self, kind: str, row: ComplaintRow, *, locale: str, decided_at: datetime) -> Letter:
        """The letter of ``kind`` about case ``row`` in ``locale`` (en or zh-CN)."""
        context = {
            "kind": kind,
            "case": row.complaint_id,
            "decided": moment_text(decided_at, locale, self._zone),
            "due": moment_text(row.due_at, locale, self._zone),
            "contested": contested_lines(row.contested, locale),
            "outcome": row.status,
        }
        template = self._env.get_template(f"{locale}/{kind}.txt.j2")
        module = template.make_module(context)
        subject = str(getattr(module, "subject", "")).strip()
        if not subject:
            raise ConfigurationInvalid(f"complaint letter template {template.name} sets no subject")
        return Letter(subject, str(module).strip() + "\n")

    def write(
        self, session: Session, kind: str, row: ComplaintRow, *, decided_at: datetime, now: datetime
    ) -> None:
        """Store the letter of ``kind`` about ``row`` in the caller's transaction, in the
        borrower's locale; a case gets each kind of letter once."""
        if repository.letter_exists(session, row.complaint_id, kind):
            return
        locale = borrowers.locales(session, [row.borrower_id]).get(row.borrower_id)
        if locale not in LOCALES:
            locale = self._default_locale
        letter = self.render(kind, row, locale=locale, decided_at=decided_at)
        repository.add_letter(
            session,
            ComplaintLetterRow(
                letter_id=uuid.uuid4().hex,
                complaint_id=row.complaint_id,
                borrower_id=row.borrower_id,
                kind=kind,
                locale=locale,
                subject=letter.subject[:300],
                body=letter.body,
                created_at=now,
            ),
        )
