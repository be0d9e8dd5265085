"""Borrower profile use-cases: save and read personal data encrypted per field; rotate keys."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final, Literal

import polars as pl
from sqlalchemy.orm import Session

from repayguard.borrowers import repository
from repayguard.borrowers.errors import BorrowerProfileNotFound
from repayguard.borrowers.messages import (
    BorrowerKeysRotated,
    BorrowerProfileSaved,
    BorrowerProfileViewed,
)
from repayguard.borrowers.models import BorrowerProfileRow
from repayguard.core.fairness import age_band
from repayguard.platform.crypto import Keyring
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

PERSONAL_FIELDS: Final = ("name", "phone", "national_id", "email", "region", "birth_year")
"""The encrypted fields of a profile, each in the column ``<field>_enc``: saving, reading,
masking and key rotation all go through this list. Region and birth year are personal data
too: they are kept for fairness checks (restriction rates by region and age band) and leave
the service only as group-level rates."""

Locale = Literal["en", "zh-CN"]


def field_context(borrower_id: str, name: str) -> str:
    """The associated data a field's ciphertext is bound to: its table, row and column."""
    return f"borrower_profiles/{borrower_id}/{name}"


@dataclass(frozen=True, slots=True)
class SaveProfile:
    """Register or replace a borrower's profile (personal values never appear in its repr)."""

    borrower_id: str
    name: str = field(repr=False)
    phone: str | None = field(default=None, repr=False)
    national_id: str | None = field(default=None, repr=False)
    locale: Locale = "zh-CN"
    email: str | None = field(default=None, repr=False)
    region: str | None = field(default=None, repr=False)
    birth_year: int | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ProfileSaved:
    """``changed`` names the fields whose values changed (no values); empty: nothing to do."""

    borrower_id: str
    created: bool
    changed: tuple[str, ...]
    locale: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ReadProfile:
    """Read a profile; ``reveal`` returns full values, otherwise masked ones. Both are
    recorded on the audit trail with the ``purpose`` given."""

    borrower_id: str
    reveal: bool = False
    purpose: str = "customer_service"


@dataclass(frozen=True, slots=True)
class BorrowerProfile:
    """A decrypted (or masked) profile for an authorised caller; never logged whole."""

    borrower_id: str
    name: str = field(repr=False)
    phone: str | None = field(repr=False)
    national_id: str | None = field(repr=False)
    locale: str
    masked: bool
    updated_at: datetime
    email: str | None = field(default=None, repr=False)
    region: str | None = field(default=None, repr=False)
    birth_year: str | None = field(default=None, repr=False)


def _encrypt(keyring: Keyring, borrower_id: str, name: str, value: str | None) -> str | None:
    if value is None:
        return None
    return keyring.encrypt(value, context=field_context(borrower_id, name))


def _decrypt(keyring: Keyring, borrower_id: str, name: str, token: str | None) -> str | None:
    if token is None:
        return None
    return keyring.decrypt(token, context=field_context(borrower_id, name))


def _plain(row: BorrowerProfileRow, keyring: Keyring) -> dict[str, str | None]:
    return {
        name: _decrypt(keyring, row.borrower_id, name, getattr(row, f"{name}_enc"))
        for name in PERSONAL_FIELDS
    }


def _sealed(borrower_id: str, values: dict[str, str | None], keyring: Keyring) -> dict[str, object]:
    # One snapshot for the whole record: a rotation arriving meanwhile must not leave fields
    # under two keys while ``key_id`` (what rotation and key retirement go by) names one.
    ring = keyring.snapshot()
    sealed: dict[str, object] = {
        f"{name}_enc": _encrypt(ring, borrower_id, name, values[name]) for name in PERSONAL_FIELDS
    }
    return {**sealed, "key_id": ring.active}


def save_profile(cmd: SaveProfile, *, uow: UnitOfWork, keyring: Keyring) -> ProfileSaved:
    """Encrypt each personal field under the active key (fresh nonce each time) and store it.

    Saving the same values again changes nothing and announces nothing. The
    ``repayguard.borrowers.profile_saved`` message names the changed fields, never values.
    """
    new: dict[str, str | None] = {
        "name": cmd.name,
        "phone": cmd.phone,
        "national_id": cmd.national_id,
        "email": cmd.email,
        "region": cmd.region,
        "birth_year": None if cmd.birth_year is None else str(cmd.birth_year),
    }
    with uow:
        now = uow.clock.now()
        row = repository.get(uow.session, cmd.borrower_id)
        if row is None:
            changed = tuple(name for name in PERSONAL_FIELDS if new[name] is not None)
            sealed = _sealed(cmd.borrower_id, new, keyring)
            repository.add(
                uow.session,
                BorrowerProfileRow(
                    borrower_id=cmd.borrower_id,
                    locale=cmd.locale,
                    version=1,
                    created_at=now,
                    updated_at=now,
                    **sealed,
                ),
            )
            created = True
        else:
            old = _plain(row, keyring)
            changed = tuple(name for name in PERSONAL_FIELDS if old[name] != new[name])
            if not changed and row.locale == cmd.locale:
                return ProfileSaved(cmd.borrower_id, False, (), row.locale, row.updated_at)
            sealed = _sealed(cmd.borrower_id, new, keyring)
            for key, value in sealed.items():
                setattr(row, key, value)
            if row.locale != cmd.locale:
                changed += ("locale",)
            row.locale = cmd.locale
            row.version += 1
            row.updated_at = now
            created = False
        uow.emit(
            Message(
                BorrowerProfileSaved(
                    borrower_id=cmd.borrower_id,
                    created=created,
                    changed_fields=changed,
                    locale=cmd.locale,
                    key_id=str(sealed["key_id"]),
                )
            )
        )
        uow.commit()
    return ProfileSaved(cmd.borrower_id, created, changed, cmd.locale, now)


def _mask(value: str | None, *, keep_end: int) -> str | None:
    if value is None:
        return None
    if keep_end:
        return "*" * max(len(value) - keep_end, 3) + value[-keep_end:]
    return value[:1] + "*" * max(len(value) - 1, 2)


def _mask_email(value: str | None) -> str | None:
    """``z***@example.com``: the first letter and the domain, enough for a customer-service
    agent to confirm which address is on file; three stars whatever the length."""
    if value is None:
        return None
    local, at, domain = value.rpartition("@")
    if not at:
        return _mask(value, keep_end=0)
    return f"{local[:1]}***@{domain}"


def _masked(plain: dict[str, str | None]) -> dict[str, str | None]:
    return {
        "name": _mask(plain["name"], keep_end=0),
        "phone": _mask(plain["phone"], keep_end=4),
        "national_id": _mask(plain["national_id"], keep_end=4),
        "email": _mask_email(plain["email"]),
        "region": None if plain["region"] is None else "***",
        # The decade only: enough to see a profile has one, not to date the person.
        "birth_year": None if plain["birth_year"] is None else plain["birth_year"][:3] + "*",
    }


def read_profile(cmd: ReadProfile, *, uow: UnitOfWork, keyring: Keyring) -> BorrowerProfile:
    """Decrypt a profile for an authorised caller; the access itself is audited
    (``repayguard.borrowers.profile_viewed``: who, which borrower, revealed or masked, why)."""
    with uow:
        row = repository.get(uow.session, cmd.borrower_id)
        if row is None:
            raise BorrowerProfileNotFound(
                f"borrower {cmd.borrower_id!r} has no profile",
                hint="register it with PUT /v1/borrowers/{id}/profile",
            )
        plain = _plain(row, keyring)
        uow.emit(
            Message(
                BorrowerProfileViewed(
                    borrower_id=cmd.borrower_id, revealed=cmd.reveal, purpose=cmd.purpose
                )
            )
        )
        uow.commit()
    if not cmd.reveal:
        plain = _masked(plain)
    name = plain["name"]
    assert name is not None
    return BorrowerProfile(
        row.borrower_id,
        name,
        plain["phone"],
        plain["national_id"],
        row.locale,
        masked=not cmd.reveal,
        updated_at=row.updated_at,
        email=plain["email"],
        region=plain["region"],
        birth_year=plain["birth_year"],
    )


def profile_locale(borrower_id: str, *, uow: UnitOfWork) -> str | None:
    """The borrower's locale (kept in clear: notices choose templates without decrypting)."""
    with uow:
        return repository.locale_of(uow.session, borrower_id)


def locales(session: Session, borrower_ids: Sequence[str]) -> dict[str, str]:
    """The locales of many borrowers in the caller's transaction (those without a profile are
    absent): notices pick each one's templates in a batch."""
    return repository.locales_of(session, borrower_ids)


@dataclass(frozen=True, slots=True)
class RotateKeys:
    """Re-encrypt every profile not on the keyring's active key, ``batch_size`` per commit."""

    batch_size: int = 500


@dataclass(frozen=True, slots=True)
class RotationReport:
    key_id: str
    rotated: int
    skipped: int
    remaining: int


def pending_rotation(*, uow: UnitOfWork, keyring: Keyring) -> int:
    """How many profiles are still encrypted under an older key."""
    with uow:
        return repository.count_not_on_key(uow.session, keyring.active)


def key_usage(*, uow: UnitOfWork) -> dict[str, int]:
    """Profiles per data key id (a retired key must have none)."""
    with uow:
        return repository.key_usage(uow.session)


def rotate_keys(
    cmd: RotateKeys,
    *,
    uow: UnitOfWorkFactory,
    keyring: Keyring,
    on_batch: Callable[[int], None] | None = None,
) -> RotationReport:
    """Move every profile to the active key, one transaction per batch.

    Old ciphertexts stay readable throughout (the keyring keeps the old keys), so the service
    runs during rotation; an interrupted rotation resumes where it stopped. A profile saved
    while its batch was in flight is skipped by a compare-and-set on its version (the save
    already used the active key). Each batch emits ``repayguard.borrowers.keys_rotated``.
    """
    rotated = skipped = 0
    after = ""
    while True:
        with uow() as unit:
            rows = repository.not_on_key(
                unit.session, keyring.active, after=after, limit=cmd.batch_size
            )
            if not rows:
                remaining = repository.count_not_on_key(unit.session, keyring.active)
                return RotationReport(keyring.active, rotated, skipped, remaining)
            done = 0
            now = unit.clock.now()
            for row in rows:
                values = _sealed(row.borrower_id, _plain(row, keyring), keyring)
                if repository.replace_if_unchanged(
                    unit.session, row.borrower_id, version=row.version, values=values
                ):
                    done += 1
                else:
                    skipped += 1
            after = rows[-1].borrower_id
            if done:
                unit.emit(
                    Message(
                        BorrowerKeysRotated(
                            subject=f"data_key:{keyring.active}",
                            key_id=keyring.active,
                            profiles=done,
                            at=now,
                        )
                    )
                )
            unit.commit()
        rotated += done
        if on_batch is not None:
            on_batch(len(rows))


def group_attributes(
    session: Session, *, keyring: Keyring, on: date, borrowers: Sequence[str] | None = None
) -> pl.DataFrame:
    """Fairness groups of profiled borrowers (all, or ``borrowers``): ``borrower_id``,
    ``age_band`` (from the birth year, on ``on``) and ``region``, decrypted in the caller's
    transaction. The birth year itself never leaves; callers publish group-level rates only."""
    rows = repository.fairness_rows(session, borrowers)
    ids, years, regions = [], [], []
    for row in rows:
        ids.append(row.borrower_id)
        year = _decrypt(keyring, row.borrower_id, "birth_year", row.birth_year_enc)
        years.append(int(year) if year else None)
        regions.append(_decrypt(keyring, row.borrower_id, "region", row.region_enc))
    frame = pl.DataFrame(
        {"borrower_id": ids, "birth_year": years, "region": regions},
        schema={"borrower_id": pl.String, "birth_year": pl.Int32, "region": pl.String},
    )
    return frame.select(
        "borrower_id", age_band(pl.col("birth_year"), on=on).alias("age_band"), "region"
    )
