"""A crowded ``collect`` policy for the G1 merge search: many overlapping filler rows that each
take some free channels away (but never all of them, together or with any other row), then two
rows whose channel lists intersect to the paid channel only.

With 45 fillers (48 rows with the default) the old bounded search ran out of work before it
reached the two rows and reported the policy valid; with 12 it found them. A borrower one day
late with three failed debits matches both and is left without a free channel.
"""

from __future__ import annotations

from typing import Any

import yaml

CHANNELS = {
    "app_balance": {"free": True},
    "wallet": {"free": True},
    "counter": {"free": True},
    "kiosk": {"free": True},
    "post_office": {"free": True},
    "bank_transfer": {"free": False},
}
# Every filler keeps app_balance (which "late" keeps) and wallet (which "failing" keeps), and
# any two or three different fillers together take more away: deep chains for a search.
_FILLER_CHANNELS = (
    ["app_balance", "wallet", "counter", "kiosk", "bank_transfer"],
    ["app_balance", "wallet", "counter", "post_office", "bank_transfer"],
    ["app_balance", "wallet", "kiosk", "post_office", "bank_transfer"],
)
TERMS = {"max_days": 30, "review_after_days": 14}


def crowded_collect(
    fillers: int, *, name: str = "crowded-collect", apart: bool = False
) -> dict[str, Any]:
    """The policy document: ``fillers`` filler rows, then "late" and "failing", whose channels
    intersect to ``bank_transfer`` alone, then the default row. With ``apart`` "failing" only
    takes borrowers who are not late, so the two never match together and the policy is valid
    (but proving it takes a search)."""
    rows: list[dict[str, Any]] = [
        {
            "id": f"filler-{i}",
            "when": {"dpd_now": "0", "failed_debits_30d": f">= {i}"},
            "then": {"manual_channels": _FILLER_CHANNELS[i % 3]},
            **TERMS,
        }
        for i in range(fillers)
    ]
    rows.append(
        {
            "id": "late",
            "when": {"dpd_now": ">= 1"},
            "then": {"manual_channels": ["app_balance", "counter", "bank_transfer"]},
            **TERMS,
        }
    )
    failing = {"failed_debits_30d": ">= 3", **({"dpd_now": "0"} if apart else {})}
    rows.append(
        {
            "id": "failing",
            "when": failing,
            "then": {
                "auto_debit": "disabled",
                "manual_channels": ["wallet", "kiosk", "bank_transfer"],
            },
            **TERMS,
        }
    )
    rows.append(
        {
            "id": "default",
            "then": {
                "auto_debit": "optional",
                "early_repayment": "allowed",
                "manual": "allowed",
                "manual_channels": list(CHANNELS),
            },
        }
    )
    return {
        "name": name,
        "owner": "risk",
        "jurisdiction": "CN",
        "channels": CHANNELS,
        "inputs": {
            "dpd_now": {"type": "integer", "minimum": 0},
            "failed_debits_30d": {"type": "integer", "minimum": 0},
        },
        "hit_policy": "collect",
        "rows": rows,
    }


def crowded_collect_yaml(fillers: int, **options: Any) -> str:
    return yaml.safe_dump(crowded_collect(fillers, **options), sort_keys=False)
