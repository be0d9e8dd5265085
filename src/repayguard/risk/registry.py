"""Model artefacts on disk: one folder per version, every file pinned by sha256.

Layout under the registry root (``<data dir>/models``)::

    <version>/card.json       the model card; lists the sha256 of every other file
    <version>/<model files>   scorecard.json, or lightgbm.txt + lightgbm.json
    <version>/profile.json    training distributions for PSI
    <version>/report.json     evaluation report (and report.html)

The database pins the sha256 of ``card.json``, so changing any byte of any file — the card
included — is detected on load and refused with :class:`ModelArtefactTampered`. A version is
written into a staging folder and renamed into place, so a crash never leaves half a version.
Files are text: JSON and LightGBM's own model format. Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from repayguard.errors import InvalidInput
from repayguard.risk.errors import ModelArtefactTampered, ModelVersionExists

CARD: Final = "card.json"
FOLDER: Final = "models"
_VERSION: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """JSON with sorted keys (NaN as null): the same content always gives the same bytes."""
    text = json.dumps(json_safe(value), indent=1, sort_keys=True, ensure_ascii=False)
    return text + "\n"


def check_version_name(version: str) -> None:
    """Version names become folder names: letters, digits, ``_ . -``, at most 64 characters."""
    if not _VERSION.match(version) or version in (".", ".."):
        raise InvalidInput(
            f"version {version!r} is not a valid name: use letters, digits, '_', '.', '-' "
            "(at most 64 characters, starting with a letter or digit)"
        )


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A verified version: its card and the text of every file the card lists."""

    card: dict[str, Any]
    files: dict[str, str]


class ModelRegistry:
    """The folder of model artefacts; every read verifies checksums first."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, version: str) -> Path:
        check_version_name(version)
        return self.root / version

    def write(self, version: str, files: Mapping[str, str], card: Mapping[str, Any]) -> str:
        """Store a new version's files and its card; returns the card's sha256.

        The card is written with a ``files`` entry mapping each file name to its sha256.
        Raises ModelVersionExists when the folder is already there.
        """
        target = self.folder(version)
        if target.exists():
            raise ModelVersionExists(
                f"model version {version!r} already has files in {target}",
                hint="choose another --version, or remove the folder if it is left over",
            )
        if CARD in files or any(Path(name).name != name for name in files):
            raise ValueError("artefact file names must be plain names other than card.json")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            hashes = {}
            for name, text in sorted(files.items()):
                data = text.encode("utf-8")
                (staging / name).write_bytes(data)
                hashes[name] = sha256(data)
            card_bytes = canonical_json({**card, "files": hashes}).encode("utf-8")
            (staging / CARD).write_bytes(card_bytes)
            for path in staging.iterdir():
                _fsync(path)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return sha256(card_bytes)

    def remove(self, version: str) -> None:
        """Delete a version's folder (used when registering it in the database failed)."""
        shutil.rmtree(self.folder(version), ignore_errors=True)

    def read(self, version: str, *, card_sha256: str) -> StoredModel:
        """The verified card and files of a version.

        Raises ModelArtefactTampered when the card's sha256 differs from ``card_sha256`` (the
        value pinned in the database), when a listed file is missing, or when a file's sha256
        differs from the card's.
        """
        folder = self.folder(version)
        card_bytes = self._bytes(folder / CARD, version)
        if sha256(card_bytes) != card_sha256:
            raise _tampered(version, CARD, "its sha256 differs from the one registered")
        try:
            card: dict[str, Any] = json.loads(card_bytes)
            listed: dict[str, str] = dict(card["files"])
        except (ValueError, KeyError, TypeError) as exc:  # pragma: no cover - hash matched
            raise _tampered(version, CARD, f"it cannot be read ({exc})") from exc
        texts = {}
        for name, expected in sorted(listed.items()):
            data = self._bytes(folder / name, version)
            if sha256(data) != expected:
                raise _tampered(version, name, "its sha256 differs from the model card's")
            texts[name] = data.decode("utf-8")
        return StoredModel(card=card, files=texts)

    def _bytes(self, path: Path, version: str) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise _tampered(version, path.name, "the file is missing") from exc


def default_registry(data_dir: Path) -> ModelRegistry:
    """The registry of a data directory: ``<data dir>/models``."""
    return ModelRegistry(data_dir / FOLDER)


def _tampered(version: str, name: str, why: str) -> ModelArtefactTampered:
    return ModelArtefactTampered(
        f"model {version} refused: {name} failed its integrity check ({why})",
        hint="restore the version's folder from a backup, or train and register a new version",
        version=version,
        file=name,
    )


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
