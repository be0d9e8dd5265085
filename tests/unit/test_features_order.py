"""Features are a function of the set of events, not of the order the store returns them in:
the whole-book read, the online read and a replay see one history in different row orders."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features import AS_OF, ev, frame, paid

from repayguard.core.features import compute_features

# Amounts whose floating-point sum depends on the order they are added in.
_AMOUNTS = (0.1, 0.2, 0.3, 1e-3, 123.456, 7.7, 1e5 + 0.01)


def _history() -> pl.DataFrame:
    events = [ev(120, "loan", "limit_change", amount=1000.0)]
    for day, amount in enumerate(_AMOUNTS * 3):
        events.append(ev(90 - day, "loan", "drawdown", amount=amount))
        events.append(paid(90 - day, amount / 3))
    events.append(ev(30, "loan", "drawdown", amount=0.1, borrower="b2"))
    return frame(*events)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_features_do_not_depend_on_the_row_order_of_the_events(seed: int) -> None:
    history = _history()
    shuffled = history.sample(fraction=1.0, shuffle=True, seed=seed)

    assert compute_features(shuffled, AS_OF).equals(compute_features(history, AS_OF))
