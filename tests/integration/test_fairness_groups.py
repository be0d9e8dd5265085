"""Fairness groups from borrower profiles: region and birth year stored encrypted, masked on
read, banded into ages for restriction rates by group — never exported one by one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from repayguard.bootstrap import Container
from repayguard.borrowers import ReadProfile, SaveProfile, read_profile, save_profile
from repayguard.borrowers.models import BorrowerProfileRow
from repayguard.platform.redaction import REDACTED, Redactor
from repayguard.shadow import profile_attributes

from support.privacy import Privacy, make_privacy


@pytest.fixture
def privacy(container: Container, tmp_path: Path) -> Privacy:
    return make_privacy(container, tmp_path)


def test_region_and_birth_year_are_stored_encrypted_and_masked_on_read(
    privacy: Privacy,
) -> None:
    save_profile(
        SaveProfile(borrower_id="B1", name="王小明", region="浙江", birth_year=1991),
        uow=privacy.uow(),
        keyring=privacy.keyring,
    )
    with privacy.container.session_factory() as session:
        row = session.get(BorrowerProfileRow, "B1")
    assert row is not None
    assert row.region_enc is not None
    assert "浙江" not in row.region_enc
    assert row.birth_year_enc is not None
    assert "1991" not in row.birth_year_enc

    masked = read_profile(ReadProfile("B1"), uow=privacy.uow(), keyring=privacy.keyring)
    revealed = read_profile(
        ReadProfile("B1", reveal=True), uow=privacy.uow(), keyring=privacy.keyring
    )
    assert (masked.region, masked.birth_year) == ("***", "199*")
    assert (revealed.region, revealed.birth_year) == ("浙江", "1991")


def test_profiles_give_age_bands_and_regions_for_fairness(privacy: Privacy) -> None:
    for borrower, region, year in (("B1", "north", 2000), ("B2", "south", 1960)):
        save_profile(
            SaveProfile(borrower_id=borrower, name="x", region=region, birth_year=year),
            uow=privacy.uow(),
            keyring=privacy.keyring,
        )
    save_profile(
        SaveProfile(borrower_id="B3", name="y"), uow=privacy.uow(), keyring=privacy.keyring
    )

    frame = profile_attributes(uow=privacy.uow(), keyring=privacy.keyring, on=date(2026, 6, 1))

    rows = {r["borrower_id"]: r for r in frame.to_dicts()}
    assert set(frame.columns) == {"borrower_id", "age_band", "region"}, "no birth year leaves"
    assert (rows["B1"]["age_band"], rows["B1"]["region"]) == ("25-34", "north")
    assert (rows["B2"]["age_band"], rows["B2"]["region"]) == ("65+", "south")
    assert (rows["B3"]["age_band"], rows["B3"]["region"]) == (None, None)


def test_region_and_birth_year_are_redacted_in_logs_and_audit_payloads() -> None:
    redact = Redactor()
    logged = redact(
        None, "info", {"event": "saved", "profile": {"region": "浙江", "birth_year": 1991}}
    )
    assert logged["profile"] == {"region": REDACTED, "birth_year": REDACTED}
