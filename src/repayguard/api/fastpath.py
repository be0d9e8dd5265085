"""The authorize fast path: ``POST /v1/authorize`` answered in the ASGI layer.

Authorize is the hottest call a lender makes (one per repayment attempt), and its answer is a
dictionary lookup. Through FastAPI it pays for dependency resolution, a thread-pool hop for the
synchronous route, and validation and serialization twice — about 0.4 ms of a core per call.
This middleware answers the ordinary case directly, with the same pieces the route uses:

- the caller's token must already be in the resolver's cache and carry the ``authorize``
  permission (the one permission map); what that settled is kept per ``Authorization`` header
  value (the principal, its per-token budget) until the cached answer's own freshness ends
  or the resolver forgets any token (``TokenResolver.generation``), so an ordinary call
  hashes no token and looks up no permission or budget;
- the body is validated by the route's own model (``AuthorizeIn``) and decided by the route's
  own function (``decide_authorize``); the JSON written is the route's answer model's own dump
  (``answer_json``: its cached head plus the decision id), so the two paths cannot drift apart;
- the clock is read once, and the token cache, the view, the rate limit and the token-use
  count all judge the call at that reading;
- the call is counted against its token's rate limit (``RateLimiter``, api/ratelimit.py; in
  memory through the token's resolved ``Budget``; over it: 429 with the ``RateLimit-*``
  headers, as the route would answer), for its token like
  any other (``TokenUsage``), and for the metrics
  (``meter``: outcome, reason, method, and the seconds from the request reaching this layer to
  the response handed to the server);
- the answer carries ``X-Request-ID`` (the caller's when sane, else a new one: api/requestid.py),
  and an access line only when ``access_log`` is on (a line costs about as much as the answer;
  settings ``access_log = all``).

Everything else — another path, an unknown or uncached token, a refusal, an invalid body (or a
channel the policy in force does not declare), an ``Idempotency-Key``, a non-JSON content type
— goes to the full application unchanged (the body
replayed), which produces the canonical answer or error. A test compares both paths over
generated requests.
"""

from __future__ import annotations

from datetime import datetime
from time import perf_counter
from typing import Final, NamedTuple

from pydantic import ValidationError

from repayguard.api.asgi import ASGIApp, Receive, Scope, Send, read_body, replaying
from repayguard.api.ratelimit import Budget, RateLimiter, send_refusal
from repayguard.api.requestid import HEADER as REQUEST_ID
from repayguard.api.requestid import AccessLog, RequestIds, accepted
from repayguard.entitlements.endpoints import (
    AnswerJson,
    AuthorizeMeter,
    answer_json,
    decide_authorize,
    locale_of,
)
from repayguard.entitlements.schemas import AuthorizeIn
from repayguard.entitlements.view import EntitlementView, made
from repayguard.errors import RepayguardError
from repayguard.identity import Principal, TokenResolver, TokenUsage, allows
from repayguard.platform.clock import Clock

PATH: Final = "/v1/authorize"
ROUTE: Final = f"POST {PATH}"
PERMISSION: Final = "authorize"
MAX_BODY: Final = 4_096
"""A valid authorize body is a few hundred bytes; a larger one takes the full path."""
_JSON: Final = b"application/json"
_HEADERS: Final = [(b"content-type", _JSON)]
MAX_CALLERS: Final = 10_000
"""Callers kept settled (only tokens that resolved and may authorize); past it, afresh."""


class _Caller(NamedTuple):
    """What a presented ``Authorization`` header settled, kept until ``fresh_until`` or until
    the resolver's generation moves past ``generation``."""

    principal: Principal
    fresh_until: datetime
    generation: int
    budget: Budget | None
    """The token's authorize budget when counted in this process (else checked by name)."""


class _Answered(NamedTuple):
    """What the fast path settled for one call before counting and sending it."""

    principal: Principal | None
    """The caller (None with access control off)."""
    budget: Budget | None
    method: str
    now: datetime
    """The one reading of the clock the whole call uses."""
    allowed: bool
    answer: AnswerJson
    request_id: bytes
    """The caller's id when sane, else a new one."""


class AuthorizeFastPath:
    """ASGI middleware answering ordinary ``POST /v1/authorize`` calls without the framework."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        view: EntitlementView | None,
        clock: Clock,
        tokens: TokenResolver | None,
        usage: TokenUsage | None,
        meter: AuthorizeMeter | None = None,
        limiter: RateLimiter | None = None,
        access_log: bool = False,
    ) -> None:
        self.app = app
        self._access_log = AccessLog() if access_log else None
        self._view = view
        self._clock = clock
        self._tokens = tokens
        self._usage = usage
        self._meter = meter
        self._limiter = limiter
        self._ids = RequestIds()
        self._callers: dict[bytes, _Caller] = {}
        self.answered = 0
        """Calls answered here rather than by the full application (since start)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self._view is None
            or scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
        ):
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        body, more = await read_body(receive, limit=MAX_BODY)
        answered = None if more or len(body) > MAX_BODY else self._answer(scope, body)
        if answered is None:
            await self.app(scope, replaying(body, receive, more=more), send)
            return  # the route answers, and counts the call itself
        principal, budget, method, now, allowed, answer, request_id = answered
        headers = [*_HEADERS, (REQUEST_ID, request_id)]
        limiter = self._limiter
        if limiter is not None and principal is not None:
            # In memory the check is a counter update: called directly, not through a coroutine.
            verdict = (
                limiter.charge(budget, now.timestamp())
                if budget is not None
                else await limiter.check_async("authorize", principal.token_id, now=now)
            )
            if verdict is not None:
                if not verdict.allowed:
                    await send_refusal(send, verdict, headers=[(REQUEST_ID, request_id)])
                    return
                headers += verdict.headers()
        if principal is not None and self._usage is not None:
            self._usage.record(principal, ROUTE, allowed=True, at=now)
        self.answered += 1
        payload = answer.body
        headers.append((b"content-length", b"%d" % len(payload)))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        seconds = perf_counter() - started
        if self._meter is not None:
            self._meter.record(method, allowed, answer.first_reason, seconds)
        if self._access_log is not None:
            self._access_log.line(
                scope,
                200,
                seconds,
                request_id.decode(),
                path=PATH,
                token_id=principal.token_id if principal is not None else None,
            )

    def _answer(self, scope: Scope, body: bytes) -> _Answered | None:
        """The call settled, or None when the full application must answer (its request-id
        middleware then takes or makes the id)."""
        authorization = content_type = accept_language = given_id = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-type":
                content_type = value
            elif name == b"accept-language":
                accept_language = value
            elif name == REQUEST_ID:
                given_id = value
            elif name == b"idempotency-key":
                return None
        if content_type != _JSON and (  # the exact type costs one comparison
            content_type is None or content_type.split(b";")[0].strip().lower() != _JSON
        ):
            return None
        now = self._clock.now()
        principal = budget = None
        if self._tokens is not None:  # access control on (security.auth = required)
            if authorization is None:
                return None
            caller = self._callers.get(authorization)
            if (
                caller is None
                or caller.generation != self._tokens.generation
                or not now < caller.fresh_until
            ):
                caller = self._settle(authorization, now)
                if caller is None:
                    return None
            principal, budget = caller.principal, caller.budget
        try:
            request = AuthorizeIn.model_validate_json(body)
        except ValidationError:
            return None
        assert self._view is not None
        try:
            result = decide_authorize(request, self._view, now)
        except RepayguardError:
            return None  # e.g. an undeclared channel: the route words the problem
        locale = locale_of(accept_language.decode("latin-1") if accept_language else None)
        answered = (
            principal,
            budget,
            request.method,
            now,
            result.allowed,
            answer_json(result, locale),
            accepted(given_id, self._ids),
        )
        return made(_Answered, answered)

    def _settle(self, authorization: bytes, now: datetime) -> _Caller | None:
        """The caller behind an ``Authorization`` header, kept for its next calls; None when
        the full application must answer (no bearer token, not cached, or no permission)."""
        tokens = self._tokens
        assert tokens is not None
        # Read before the cache: a token forgotten after this read moves the generation, so
        # what is kept below is dropped at the next call.
        generation = tokens.generation
        scheme, _, secret = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not secret:
            return None
        answer = tokens.cached_answer(secret.strip(), now=now)
        if answer is None:
            return None
        fresh_until, principal = answer
        if not allows(principal, PERMISSION, borrower_id=None):
            return None
        limiter = self._limiter
        budget = (
            limiter.budget("authorize", principal.token_id) if limiter and limiter.local else None
        )
        caller = _Caller(principal, fresh_until, generation, budget)
        if len(self._callers) >= MAX_CALLERS:
            self._callers.clear()
        self._callers[authorization] = caller
        return caller
