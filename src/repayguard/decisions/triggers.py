"""What caused a decision run: the small vocabulary recorded in ``decision_runs.trigger``.

- ``events``: new events for the borrowers (the online driver, and ``ingest`` deciding the
  borrowers it imported);
- ``cli``: an operator's ``repayguard decide`` (or the demo);
- ``spark``: an operator's ``repayguard decide --all --engine spark`` (the distributed driver);
- ``review``: the worker re-deciding restrictions whose review date or expiry came;
- ``appeal``: a borrower's appeal opened or closed;
- ``hardship``: a borrower's hardship case opened or closed;
- ``cadence:<tier> <cadence>``: the worker's per-tier cadence (``cadence:T5 daily``);
- ``whole_book <cadence>``: the worker's whole-book run (``whole_book daily``);
- ``overlay:<id>``: an emergency overlay armed or lifted (its segment re-decided at once).
"""

from __future__ import annotations

import re
from typing import Final

EVENTS: Final = "events"
CLI: Final = "cli"
SPARK: Final = "spark"
REVIEW: Final = "review"
APPEAL: Final = "appeal"
HARDSHIP: Final = "hardship"

_KNOWN = re.compile(
    r"^(events|cli|spark|review|appeal|hardship"
    r"|cadence:T[1-9] (hourly|daily|weekly|monthly)"
    r"|whole_book (daily|weekly|monthly)"
    r"|overlay:[0-9a-f]{32})$"
)


def cadence(tier: int, every: str) -> str:
    """The trigger of a per-tier cadence run: ``cadence(5, "daily")`` -> ``cadence:T5 daily``."""
    return f"cadence:T{tier} {every}"


def whole_book(every: str) -> str:
    """The trigger of a whole-book run: ``whole_book("daily")`` -> ``whole_book daily``."""
    return f"whole_book {every}"


def overlay(overlay_id: str) -> str:
    """The trigger of the run that re-decides an overlay's segment when it is armed or lifted."""
    return f"overlay:{overlay_id}"


def is_known(trigger: str) -> bool:
    """Whether ``trigger`` belongs to the vocabulary above."""
    return _KNOWN.match(trigger) is not None
