"""Borrower profiles on a real database: encrypted per field, audited reads, key rotation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from repayguard.api.app import create_app
from repayguard.audit.models import AuditRecordRow
from repayguard.bootstrap import Container
from repayguard.borrowers import (
    PROFILE_SAVED,
    PROFILE_VIEWED,
    ProfileSaved,
    ReadProfile,
    RotateKeys,
    SaveProfile,
    key_usage,
    pending_rotation,
    profile_locale,
    read_profile,
    rotate_keys,
    save_profile,
)
from repayguard.borrowers.errors import BorrowerProfileNotFound
from repayguard.borrowers.models import BorrowerProfileRow
from repayguard.errors import PersonalDataUnreadable
from repayguard.platform.bus import RecordingBus
from repayguard.platform.crypto import Keyring

from support.privacy import Privacy, install, make_privacy

NAME, PHONE, NATIONAL_ID = "王小明", "13912345678", "11010519491231002X"


@pytest.fixture
def privacy(container: Container, tmp_path: Path) -> Privacy:
    return make_privacy(container, tmp_path)


def save(privacy: Privacy, borrower: str = "B1", **overrides: Any) -> ProfileSaved:
    fields: dict[str, Any] = {"name": NAME, "phone": PHONE, "national_id": NATIONAL_ID}
    return save_profile(
        SaveProfile(borrower_id=borrower, **{**fields, **overrides}),
        uow=privacy.uow(),
        keyring=privacy.keyring,
    )


def row(privacy: Privacy, borrower: str = "B1") -> BorrowerProfileRow:
    with privacy.container.session_factory() as session:
        found = session.get(BorrowerProfileRow, borrower)
        assert found is not None
        return found


def actions(privacy: Privacy) -> list[str]:
    """The audited actions, without start-up's (the policy seed's publication)."""
    with privacy.container.session_factory() as session:
        found = session.scalars(select(AuditRecordRow.action).order_by(AuditRecordRow.seq))
        return [a for a in found if not a.startswith("repayguard.policy.")]


def test_each_personal_field_is_stored_encrypted_with_its_key_id(privacy: Privacy) -> None:
    save(privacy)

    stored = row(privacy)
    for token, plain in (
        (stored.name_enc, NAME),
        (stored.phone_enc, PHONE),
        (stored.national_id_enc, NATIONAL_ID),
    ):
        assert token is not None
        assert plain not in token
        assert token.startswith(f"rg1.{privacy.keyring.active}.")
    assert stored.key_id == privacy.keyring.active
    assert stored.locale == "zh-CN", "the locale stays in clear for notices"
    assert profile_locale("B1", uow=privacy.uow()) == "zh-CN"


def test_an_authorised_read_decrypts_and_is_audited_masked_by_default(privacy: Privacy) -> None:
    save(privacy)

    masked = read_profile(ReadProfile("B1"), uow=privacy.uow(), keyring=privacy.keyring)
    full = read_profile(ReadProfile("B1", reveal=True), uow=privacy.uow(), keyring=privacy.keyring)

    assert (full.name, full.phone, full.national_id) == (NAME, PHONE, NATIONAL_ID)
    assert (masked.name, masked.phone, masked.national_id) == (
        "王**",
        "*******5678",
        "**************002X",
    )
    assert PHONE not in repr(full)
    assert actions(privacy) == [PROFILE_SAVED, PROFILE_VIEWED, PROFILE_VIEWED]


def test_saving_the_same_profile_again_changes_and_announces_nothing(privacy: Privacy) -> None:
    first = save(privacy)
    again = save(privacy)
    moved = save(privacy, phone="13700001111", locale="en")

    assert (first.created, first.changed) == (True, ("name", "phone", "national_id"))
    assert (again.created, again.changed) == (False, ())
    assert moved.changed == ("phone", "locale")
    assert actions(privacy) == [PROFILE_SAVED, PROFILE_SAVED]
    bus = privacy.container.bus
    assert isinstance(bus, RecordingBus)
    saved = [m for m in bus.published if m.name == PROFILE_SAVED]
    assert saved[-1].payload["changed_fields"] == ["phone", "locale"]
    assert "13700001111" not in str(saved[-1].payload)


def test_a_missing_profile_is_a_404_error(privacy: Privacy) -> None:
    with pytest.raises(BorrowerProfileNotFound):
        read_profile(ReadProfile("B-NONE"), uow=privacy.uow(), keyring=privacy.keyring)


def test_a_ciphertext_copied_to_another_borrower_does_not_decrypt(privacy: Privacy) -> None:
    save(privacy, "B1")
    save(privacy, "B2", phone="13000000000")
    with privacy.container.engine.begin() as connection:
        connection.execute(
            update(BorrowerProfileRow)
            .where(BorrowerProfileRow.borrower_id == "B2")
            .values(phone_enc=row(privacy, "B1").phone_enc)
        )

    with pytest.raises(PersonalDataUnreadable, match="altered or moved"):
        read_profile(ReadProfile("B2", reveal=True), uow=privacy.uow(), keyring=privacy.keyring)


def test_rotation_re_encrypts_in_batches_and_old_values_stay_readable_until_then(
    privacy: Privacy,
) -> None:
    for n in range(7):
        save(privacy, f"B{n}", phone=f"1390000000{n}")
    old_key = privacy.keyring.active
    before = row(privacy, "B3").phone_enc
    rotated = privacy.keyring.with_new_active_key()

    assert pending_rotation(uow=privacy.uow(), keyring=rotated) == 7
    early = read_profile(ReadProfile("B3", reveal=True), uow=privacy.uow(), keyring=rotated)
    assert early.phone == "13900000003", "old ciphertexts read with the rotated keyring"
    batches: list[int] = []
    report = rotate_keys(
        RotateKeys(batch_size=3), uow=privacy.uow_factory, keyring=rotated, on_batch=batches.append
    )

    assert (report.rotated, report.skipped, report.remaining) == (7, 0, 0)
    assert batches == [3, 3, 1]
    assert key_usage(uow=privacy.uow()) == {rotated.active: 7}
    after = row(privacy, "B3")
    assert after.phone_enc != before
    assert after.phone_enc is not None
    assert rotated.key_id_of(after.phone_enc) == rotated.active
    late = read_profile(
        ReadProfile("B3", reveal=True), uow=privacy.uow(), keyring=rotated.without(old_key)
    )
    assert late.phone == "13900000003", "the retired key is no longer needed"
    assert actions(privacy).count("repayguard.borrowers.keys_rotated") == 3


class RacingKeyring:
    """The rotated keyring, which lets a save of B1 commit right after rotation read B1 and
    before it writes B1 back (the lost-update window), the first time it decrypts."""

    def __init__(self, inner: Keyring, race: Callable[[], object]) -> None:
        self.inner = inner
        self.active = inner.active
        self._race: Callable[[], object] | None = race

    def encrypt(self, plaintext: str, *, context: str) -> str:
        return self.inner.encrypt(plaintext, context=context)

    def snapshot(self) -> Keyring:
        return self.inner

    def decrypt(self, token: str, *, context: str) -> str:
        if self._race is not None:
            race, self._race = self._race, None
            race()
        return self.inner.decrypt(token, context=context)


def test_a_profile_saved_during_rotation_is_not_overwritten(privacy: Privacy) -> None:
    save(privacy, "B1")
    rotated = privacy.keyring.with_new_active_key()

    def save_meanwhile() -> object:
        return save_profile(
            SaveProfile(borrower_id="B1", name="新名字", phone=PHONE),
            uow=privacy.uow(),
            keyring=rotated,
        )

    report = rotate_keys(
        RotateKeys(),
        uow=privacy.uow_factory,
        keyring=RacingKeyring(rotated, save_meanwhile),  # type: ignore[arg-type]
    )

    assert (report.rotated, report.skipped, report.remaining) == (0, 1, 0)
    profile = read_profile(ReadProfile("B1", reveal=True), uow=privacy.uow(), keyring=rotated)
    assert profile.name == "新名字", "the newer save survives the rotation"


@pytest.fixture
def client(privacy: Privacy) -> Iterator[TestClient]:
    app = install(create_app(privacy.container), privacy)
    with TestClient(app) as http:
        yield http


def test_the_profile_api_stores_encrypted_and_reads_masked_or_revealed(
    client: TestClient, privacy: Privacy
) -> None:
    body = {"name": NAME, "phone": PHONE, "national_id": NATIONAL_ID, "locale": "en"}

    put = client.put("/v1/borrowers/B-API/profile", json=body)
    masked = client.get("/v1/borrowers/B-API/profile")
    revealed = client.get("/v1/borrowers/B-API/profile", params={"reveal": "true"})
    missing = client.get("/v1/borrowers/B-NONE/profile")
    invalid = client.put("/v1/borrowers/B-API/profile", json={**body, "phone": "call me"})

    assert put.status_code == 200, put.text
    assert put.json()["created"] is True
    assert PHONE not in put.text, "a write never echoes personal values"
    assert masked.json()["phone"] == "*******5678"
    assert masked.json()["masked"] is True
    assert revealed.json()["phone"] == PHONE
    assert missing.status_code == 404
    assert missing.json()["code"] == "borrower_profile_not_found"
    assert invalid.status_code == 422
    assert "call me" not in invalid.text
    with privacy.container.engine.connect() as connection:
        raw = connection.execute(text("SELECT phone_enc FROM borrower_profiles")).scalar_one()
    assert PHONE not in raw
