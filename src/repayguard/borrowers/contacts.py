"""How to reach a borrower: the phone number and e-mail address of a profile, decrypted one
field at a time for the notice channels that write to them."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy.orm import Session

from repayguard.borrowers import repository
from repayguard.borrowers.service import field_context
from repayguard.platform.crypto import Keyring

ContactField = Literal["phone", "email"]
CONTACT_FIELDS: Final[tuple[ContactField, ...]] = ("phone", "email")
_PHONE: Final[tuple[ContactField, ...]] = ("phone",)
_EMAIL: Final[tuple[ContactField, ...]] = ("email",)


@dataclass(frozen=True, slots=True, repr=False)
class Contact:
    """A borrower's phone number and e-mail address (None: not on file, or not asked for).

    Its repr says only which are present, so a contact logged or shown in a traceback by
    mistake gives nothing away.
    """

    phone: str | None = None
    email: str | None = None

    def __repr__(self) -> str:
        def shown(value: str | None) -> str:
            return "<on file>" if value is not None else "None"

        return f"Contact(phone={shown(self.phone)}, email={shown(self.email)})"


class ContactBook:
    """Reads contact details for delivering notices (a system use, not a person viewing a
    profile, so no ``profile_viewed`` record: each delivery attempt is recorded instead).

    Each call opens its own short session and decrypts only the fields asked for: safe to
    share between the threads that deliver notices.
    """

    def __init__(self, *, session_factory: Callable[[], Session], keyring: Keyring) -> None:
        self._session_factory = session_factory
        self._keyring = keyring

    def contact_of(
        self, borrower_id: str, *, fields: Collection[ContactField] = CONTACT_FIELDS
    ) -> Contact:
        """The borrower's contact details; only ``fields`` are read and decrypted (the others
        stay None). A borrower without a profile has none."""
        wanted = [name for name in CONTACT_FIELDS if name in fields]
        if not wanted:
            return Contact()
        with self._session_factory() as session:
            tokens = repository.encrypted_fields(session, borrower_id, wanted)
        if tokens is None:
            return Contact()
        plain = {
            name: None
            if token is None
            else self._keyring.decrypt(token, context=field_context(borrower_id, name))
            for name, token in tokens.items()
        }
        return Contact(phone=plain.get("phone"), email=plain.get("email"))

    def phone_of(self, borrower_id: str) -> str | None:
        """The phone number on file, as the borrower gave it (None: none)."""
        return self.contact_of(borrower_id, fields=_PHONE).phone

    def email_of(self, borrower_id: str) -> str | None:
        """The e-mail address on file (None: none)."""
        return self.contact_of(borrower_id, fields=_EMAIL).email
