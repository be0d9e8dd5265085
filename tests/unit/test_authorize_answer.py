"""The authorize answer's JSON as the fast path writes it (a cached head plus the decision id)
is byte for byte the answer model's own dump, for every kind of answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from repayguard.core.reasons import CATALOG, LOCALES
from repayguard.entitlements.endpoints import answer_json, answer_out
from repayguard.entitlements.view import Alternative, AuthorizeResult

CHANNELS = ("app_balance", "bank_card", "counter", None)

results = st.builds(
    AuthorizeResult,
    allowed=st.booleans(),
    reasons=st.lists(st.sampled_from(sorted(CATALOG)), max_size=5, unique=True).map(tuple),
    alternatives=st.lists(
        st.builds(
            Alternative,
            method=st.sampled_from(["manual", "auto_debit", "early_repayment"]),
            channel=st.sampled_from(CHANNELS),
        ),
        max_size=4,
    ).map(tuple),
    # Decision ids are hex in practice; quotes, escapes and other scripts must survive too.
    decision_id=st.one_of(st.none(), st.text(max_size=40)),
)


@given(result=results, locale=st.sampled_from(LOCALES))
def test_the_fast_paths_json_is_the_models_own_dump(result: AuthorizeResult, locale: str) -> None:
    model = answer_out(result, locale)
    written = answer_json(result, locale)
    assert written.body == model.model_dump_json().encode()
    assert written.first_reason == (model.reasons[0].code if model.reasons else None)


def test_answers_sharing_reasons_share_the_head_but_keep_their_own_decision_ids() -> None:
    alternatives = (Alternative("manual", "app_balance"),)
    first = AuthorizeResult(False, ("REPEATED_FAILED_DEBITS",), alternatives, "d-1")
    second = AuthorizeResult(False, ("REPEATED_FAILED_DEBITS",), alternatives, "d-2")
    one, two = answer_json(first, "en").body, answer_json(second, "en").body
    assert one.endswith(b'"decision_id":"d-1"}')
    assert two.endswith(b'"decision_id":"d-2"}')
    assert one[: -len(b'"d-1"}')] == two[: -len(b'"d-2"}')]
