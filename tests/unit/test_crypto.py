"""Field encryption, keyrings, pseudonyms and log redaction (keys made at run time)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repayguard.errors import KeyringInvalid, PersonalDataUnreadable
from repayguard.platform.crypto import Keyring, Pseudonymizer, load_keyring, write_keyring
from repayguard.platform.redaction import REDACTED, Redactor, SensitiveValues, scrub_text

CONTEXT = "borrower_profiles/B1/phone"
KEYRING = Keyring.generate()


@given(st.text(max_size=300))
def test_a_value_decrypts_to_itself_in_its_own_context(plain: str) -> None:
    token = KEYRING.encrypt(plain, context=CONTEXT)

    assert KEYRING.decrypt(token, context=CONTEXT) == plain
    assert KEYRING.key_id_of(token) == KEYRING.active
    if len(plain) >= 6:
        assert plain not in token


def test_the_same_value_encrypts_differently_each_time() -> None:
    tokens = {KEYRING.encrypt("13812345678", context=CONTEXT) for _ in range(50)}

    assert len(tokens) == 50, "a fresh random nonce every time"
    assert all(t.startswith(f"rg1.{KEYRING.active}.") for t in tokens)


def test_a_ciphertext_moved_to_another_row_or_field_does_not_decrypt() -> None:
    token = KEYRING.encrypt("13812345678", context=CONTEXT)

    with pytest.raises(PersonalDataUnreadable):
        KEYRING.decrypt(token, context="borrower_profiles/B2/phone")
    with pytest.raises(PersonalDataUnreadable):
        KEYRING.decrypt(token, context="borrower_profiles/B1/name")


def test_an_altered_ciphertext_is_refused() -> None:
    token = KEYRING.encrypt("张三", context=CONTEXT)
    prefix, key_id, blob = token.split(".")
    flipped = blob[:-2] + ("A" if blob[-2] != "A" else "B") + blob[-1]

    with pytest.raises(PersonalDataUnreadable, match="altered"):
        KEYRING.decrypt(f"{prefix}.{key_id}.{flipped}", context=CONTEXT)
    with pytest.raises(PersonalDataUnreadable):
        KEYRING.decrypt("not-a-ciphertext", context=CONTEXT)


def test_a_rotated_keyring_still_reads_old_values_and_writes_with_the_new_key() -> None:
    old = Keyring.generate("k1")
    token = old.encrypt("110101199003074514", context=CONTEXT)
    rotated = old.with_new_active_key("k2")

    assert rotated.decrypt(token, context=CONTEXT) == "110101199003074514"
    assert rotated.key_id_of(rotated.encrypt("x", context=CONTEXT)) == "k2"
    with pytest.raises(PersonalDataUnreadable, match="'k1'"):
        rotated.without("k1").decrypt(token, context=CONTEXT)
    with pytest.raises(KeyringInvalid):
        rotated.without("k2")


def test_a_keyring_file_round_trips_and_only_its_owner_can_read_it(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "data-keys.json"
    keyring = Keyring.generate().with_new_active_key()
    write_keyring(keyring, path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_keyring(file=path)
    assert loaded.active == keyring.active
    assert dict(loaded.keys) == dict(keyring.keys)
    assert load_keyring(file=None, document=keyring.to_json()).active == keyring.active


def test_a_missing_or_malformed_keyring_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    with pytest.raises(KeyringInvalid, match="does not exist"):
        load_keyring(file=missing)
    created = load_keyring(file=missing, create_missing=True)
    assert missing.exists()
    assert load_keyring(file=missing).active == created.active

    document = json.loads(created.to_json())
    document["keys"][created.active] = "c2hvcnQ="  # 5 bytes: not an AES-256 key
    with pytest.raises(KeyringInvalid, match="32 bytes"):
        Keyring.from_json(json.dumps(document))
    with pytest.raises(KeyringInvalid, match="not a repayguard keyring"):
        Keyring.from_json("{}")


def test_pseudonyms_are_stable_per_key_and_unlinkable_across_keys() -> None:
    first = Pseudonymizer(b"a" * 32)
    second = Pseudonymizer(b"b" * 32)

    assert first.pseudonym("B1") == first.pseudonym("B1")
    assert first.pseudonym("B1") != first.pseudonym("B2")
    assert first.pseudonym("B1") != second.pseudonym("B1")
    assert first.pseudonym("B1").startswith("bp_")
    assert first.pseudonym("B1", kind="user") != first.pseudonym("B1")
    assert Pseudonymizer.from_secret("s" * 40).pseudonym("B1") == Pseudonymizer.from_secret(
        "s" * 40
    ).pseudonym("B1")
    assert "a" * 32 not in repr(first)


def test_the_redactor_drops_personal_fields_and_pseudonymises_borrowers() -> None:
    pseudonymizer = Pseudonymizer(b"p" * 32)
    sensitive = SensitiveValues(["s3cr3t-token-value"])
    redact = Redactor(pseudonymizer=pseudonymizer, sensitive=sensitive)

    out = redact(
        None,
        "info",
        {
            "event": "called 13812345678 about id 11010119900307451X",
            "name": "张三",
            "phone": "+8613812345678",
            "borrower_id": "B1",
            "borrower_ids": ["B1", "B2"],
            "nested": {"national_id": "110101199003074514", "note": "token s3cr3t-token-value"},
            "exception": "ValueError: bad phone 13900001111",
            "count": 3,
            "message_id": "a13812345678b0c",
        },
    )

    assert out["name"] == out["phone"] == out["nested"]["national_id"] == REDACTED
    assert out["event"] == f"called {REDACTED} about id {REDACTED}"
    assert out["borrower_id"] == pseudonymizer.pseudonym("B1")
    assert out["borrower_ids"] == [pseudonymizer.pseudonym("B1"), pseudonymizer.pseudonym("B2")]
    assert out["nested"]["note"] == f"token {REDACTED}"
    assert "13900001111" not in out["exception"]
    assert out["count"] == 3
    assert out["message_id"] == "a13812345678b0c", "digits inside an id are not a phone"


def test_scrubbing_leaves_ordinary_text_and_timestamps_alone() -> None:
    text = "run 2026-03-01T12:00:00+00:00 decided 1,000 borrowers in 1712345678901 µs"
    assert scrub_text(text) == text


class KeyFile:
    """A keyring file another process rotates, read through a counting source."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reads = 0
        write_keyring(Keyring.generate("k1"), path)

    def source(self) -> Keyring:
        self.reads += 1
        return load_keyring(file=self.path)

    def opened(self, now: list[float]) -> Keyring:
        first = load_keyring(file=self.path)
        return Keyring(first.active, first.keys, source=self.source, monotonic=lambda: now[0])

    def rotate(self) -> Keyring:
        rotated = load_keyring(file=self.path).with_new_active_key()
        write_keyring(rotated, self.path)
        return rotated


def test_a_reload_swaps_the_keys_in_place_for_every_holder(tmp_path: Path) -> None:
    keys = KeyFile(tmp_path / "data-keys.json")
    shared = keys.opened([0.0])
    holders = [shared, shared]  # the profile service and the contact book hold one object
    old = shared.encrypt("13812345678", context=CONTEXT)
    rotated = keys.rotate()

    assert shared.reload() is True
    assert [h.active for h in holders] == [rotated.active, rotated.active]
    assert shared.key_id_of(shared.encrypt("x", context=CONTEXT)) == rotated.active
    assert shared.decrypt(old, context=CONTEXT) == "13812345678", "old keys still read"
    assert shared.reload() is False, "nothing changed since"


def test_a_value_under_an_unknown_key_reloads_the_keyring_once_before_it_is_refused(
    tmp_path: Path,
) -> None:
    keys = KeyFile(tmp_path / "data-keys.json")
    now = [100.0]
    stale = keys.opened(now)
    written = keys.rotate().encrypt("张三", context=CONTEXT)  # by a process that rotated

    assert stale.decrypt(written, context=CONTEXT) == "张三", "missed the message, still reads"
    assert keys.reads == 1
    bogus = f"rg1.dk-unknown.{written.split('.')[2]}"
    with pytest.raises(PersonalDataUnreadable, match="'dk-unknown'"):
        stale.decrypt(bogus, context=CONTEXT)
    assert keys.reads == 1, "within a second of the last reload: refused without one"
    now[0] += 1.5
    for _ in range(3):
        with pytest.raises(PersonalDataUnreadable, match="'dk-unknown'"):
            stale.decrypt(bogus, context=CONTEXT)
    assert keys.reads == 2, "one reload for the unknown id, then rate-limited"


def test_a_keyring_whose_source_breaks_keeps_its_keys(tmp_path: Path) -> None:
    keys = KeyFile(tmp_path / "data-keys.json")
    keyring = keys.opened([0.0])
    token = keyring.encrypt("13812345678", context=CONTEXT)
    keys.path.write_text("{}")

    with pytest.raises(KeyringInvalid):
        keyring.reload()
    with pytest.raises(PersonalDataUnreadable):
        keyring.decrypt(f"rg1.dk-other.{token.split('.')[2]}", context=CONTEXT)
    assert keyring.decrypt(token, context=CONTEXT) == "13812345678"
    assert keyring.snapshot().active == keyring.active
    assert "hidden" in repr(keyring)
