"""Messages that leave a use-case: named in the past tense, versioned, JSON payloads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    """One committed fact. Its name is also its bus subject and its audit action.

    ``message_id`` is unique and stable across redeliveries, so consumers can recognise a
    message they have already processed.
    """

    name: str
    payload: dict[str, Any]
    version: int = 1
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)
