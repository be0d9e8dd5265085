"""Per-caller rate limits: a budget per token, or per client address for password logins.

Three classes of route have a budget each (``rate_limit`` settings):

- ``authorize`` — ``POST /v1/authorize``, per token, on both paths: the fast path checks it
  when it answers (api/fastpath.py), :func:`repayguard.api.security.guard` when the route does;
- ``api`` — every other route that needs a token (the console's pages included), per token;
- ``login`` — ``POST /v1/sessions`` and ``POST /console/login``, per client address (there is
  no token yet); the lockout of one operator's password after failed logins is separate.

Other public routes (health, readiness, metrics, the console's login page and assets) are not
limited. With access control off (``security.auth = off``, a local trial) nothing is: every
call is the same anonymous caller.

The counts are kept in memory (each process its own budget) or in Redis through the ``limits``
library's storage (every replica sharing one Redis shares each budget). The default
fixed-window strategy keeps one counter per caller and window, windows aligned to the
container's clock, so each check is one storage call (a Redis round trip, or ~2 µs in this
process's own table, :class:`ProcessCounters`) and every replica agrees on when a window
resets. The moving-window strategy (the library's own, in its storages) keeps the times of
the last calls: smoother, several times the cost.

A storage that fails (Redis down or slow) never takes the API down: the call goes through
unlimited, a warning is logged and ``repayguard_rate_limit_storage_errors_total`` counts it;
the storage is tried again after ``storage_retry_seconds``. A refused call is answered 429
(``RateLimited``) and counted in ``repayguard_rate_limited_total{route_class}``. Answers on a
limited route carry ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
(seconds until the window resets); a 429 also ``Retry-After``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, MutableMapping, Sequence
from datetime import datetime
from functools import partial
from math import ceil
from typing import Any, Final, Literal, NamedTuple, Protocol

import anyio.to_thread
import orjson
import structlog
from limits import RateLimitItem
from limits import parse as parse_limit
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from repayguard.api.asgi import ASGIApp, Message, Receive, Scope, Send
from repayguard.config import RateLimitSettings, Settings
from repayguard.errors import RateLimited
from repayguard.platform.clock import Clock

RouteClass = Literal["authorize", "api", "login"]
LOGIN_ROUTES: Final = frozenset({("POST", "/v1/sessions"), ("POST", "/console/login")})
AUTHORIZE_ROUTE: Final = ("POST", "/v1/authorize")
STATE_KEY: Final = "rate_limit"
"""Where a framework request keeps its :class:`Verdict` (``request.state``) for the headers."""
_PROBLEM: Final = b"application/problem+json"
log = structlog.get_logger(__name__)


class RateLimitMeter(Protocol):
    """What the limiter reports to the metrics (``platform.telemetry.Telemetry`` meets it)."""

    def rate_limited(self, route_class: str) -> None: ...

    def rate_limit_storage_failed(self) -> None: ...


class Verdict(NamedTuple):
    """One call's standing against its budget (a named tuple: one is made per call)."""

    route_class: RouteClass
    allowed: bool
    item: RateLimitItem
    """The budget: ``item.amount`` calls per window."""
    remaining: int
    reset_seconds: int
    """Whole seconds until the window resets (at least 1)."""

    @property
    def limit(self) -> int:
        return self.item.amount

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The ``RateLimit-*`` headers (and ``Retry-After`` on a refusal)."""
        reset = b"%d" % self.reset_seconds
        headers = [
            (b"ratelimit-limit", b"%d" % self.item.amount),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", reset),
        ]
        if not self.allowed:
            headers.append((b"retry-after", reset))
        return headers

    def refusal(self) -> RateLimited:
        caller = "address" if self.route_class == "login" else "token"
        if self.route_class == "login":
            raise_it = "wait, or log in from another address"
        else:
            setting = f"REPAYGUARD_RATE_LIMIT__{self.route_class.upper()}"
            raise_it = (
                f"if this traffic is expected, raise {setting} or give the token its own budget "
                "in REPAYGUARD_RATE_LIMIT__OVERRIDES"
            )
        return RateLimited(
            f"this {caller} is over its {self.route_class} rate limit ({self.item})",
            hint=f"retry in {self.reset_seconds} s (Retry-After); {raise_it}",
            route_class=self.route_class,
            limit=self.limit,
            retry_after_seconds=self.reset_seconds,
        )


class RateLimiter:
    """Budgets of one process's callers, counted in a ``limits`` storage (see the module)."""

    def __init__(
        self,
        settings: RateLimitSettings,
        *,
        clock: Clock,
        meter: RateLimitMeter | None = None,
    ) -> None:
        """``clock`` is the one the fixed windows are aligned to (a fixed clock's windows
        reset only when it is moved); the moving window reads the library's own."""
        self.settings = settings
        self._meter = meter
        self._clock = clock
        self.in_memory = settings.storage_uri.startswith("memory:")
        fixed = settings.strategy == "fixed-window"
        self._local = ProcessCounters() if self.in_memory and fixed else None
        self.local = self._local is not None
        """Whether calls are counted in this process's fixed windows (:meth:`budget`)."""
        options: dict[str, float | str | bool] = {"wrap_exceptions": True}
        if not self.in_memory:
            options["socket_timeout"] = settings.storage_timeout_seconds
            options["socket_connect_timeout"] = settings.storage_timeout_seconds
        storage: Storage | None = None
        if self._local is None:
            built = storage_from_string(settings.storage_uri, **options)
            assert isinstance(built, Storage)  # the settings admit no async+ scheme
            storage = built
        self._storage = storage
        base = storage.base_exceptions if storage is not None and not self.in_memory else ()
        self._failures: tuple[type[Exception], ...] = (
            StorageError,
            *(base if isinstance(base, tuple) else (base,)),
        )
        self._moving = MovingWindowRateLimiter(storage) if storage and not fixed else None
        self._limits: dict[str, RateLimitItem] = {
            name: parse_limit(getattr(settings, name)) for name in ("authorize", "api", "login")
        }
        self._overrides: dict[tuple[str, str], RateLimitItem] = {
            (token, name): parse_limit(text)
            for token, budgets in settings.overrides.items()
            for name, text in budgets.items()
        }
        self._budgets: dict[tuple[RouteClass, str], Budget] = {}
        self._down_until = 0.0

    def limit_for(self, route_class: RouteClass, key: str) -> RateLimitItem:
        """The budget of ``key`` (a token id or an address) on this class of route."""
        overrides = self._overrides
        return (overrides and overrides.get((key, route_class))) or self._limits[route_class]

    def check(
        self, route_class: RouteClass, key: str, *, now: datetime | None = None
    ) -> Verdict | None:
        """Count one call of ``key`` at ``now`` (None: the clock's now; fixed windows only)
        and say whether it is within budget; None when the storage cannot say (the call goes
        through unlimited)."""
        if self._local is not None:  # in memory: nothing can fail, no storage to retry
            at = (self._clock.now() if now is None else now).timestamp()
            return self.charge(self.budget(route_class, key), at)
        if self._down_until and time.monotonic() < self._down_until:
            return None
        item = self.limit_for(route_class, key)
        try:
            if self._moving is None:
                allowed, remaining, reset = self._fixed_window(route_class, key, item, now)
            else:
                allowed = self._moving.hit(item, route_class, key)
                reset_at, remaining = self._moving.get_window_stats(item, route_class, key)
                reset = max(1, ceil(reset_at - time.time()))
        except self._failures as exc:
            self._storage_failed(exc)
            return None
        if self._down_until:
            self._down_until = 0.0
            log.info("rate_limit.storage_back", storage=_where(self.settings.storage_uri))
        if not allowed and self._meter is not None:
            self._meter.rate_limited(route_class)
        return Verdict(route_class, allowed, item, remaining, reset)

    async def check_async(
        self, route_class: RouteClass, key: str, *, now: datetime | None = None
    ) -> Verdict | None:
        """:meth:`check` from the event loop: in memory at once, otherwise on a worker thread
        (a Redis round trip must not hold up the loop)."""
        if self.in_memory:
            return self.check(route_class, key, now=now)
        return await anyio.to_thread.run_sync(partial(self.check, route_class, key, now=now))

    def budget(self, route_class: RouteClass, key: str) -> Budget:
        """The budget of ``key`` on this class of route as counted in this process's fixed
        windows (``memory://`` storage, fixed-window strategy only: see :attr:`local`),
        resolved once per caller and kept, so a check is only the window's arithmetic."""
        found = self._budgets.get((route_class, key))
        if found is None:
            assert self._local is not None, "budgets are counted in this process only"
            if len(self._budgets) >= _MAX_BUDGETS:  # client addresses are unbounded
                self._budgets.clear()
            found = self._budgets[route_class, key] = Budget(
                route_class, key, self.limit_for(route_class, key), self._local
            )
        return found

    def charge(self, budget: Budget, at: float) -> Verdict:
        """Count one call against ``budget`` at ``at`` (epoch seconds of the container's
        clock) and say whether it is within it; a refusal is counted for the metrics."""
        verdict = budget.hit(at)
        if not verdict.allowed and self._meter is not None:
            self._meter.rate_limited(verdict.route_class)
        return verdict

    def _fixed_window(
        self, route_class: RouteClass, key: str, item: RateLimitItem, at: datetime | None
    ) -> tuple[bool, int, int]:
        """Allowed, remaining and seconds to the reset, for a window aligned to the clock,
        counted in the shared storage."""
        assert self._storage is not None
        period = item.get_expiry()
        now = (self._clock.now() if at is None else at).timestamp()
        window, into = divmod(now, period)
        reset = ceil(period - into)  # into < period: at least 1
        # One counter per window, expiring with it.
        counter = f"repayguard/{route_class}/{key}/{item.amount}/{period}/{window:.0f}"
        count = self._storage.incr(counter, reset)
        return count <= item.amount, max(0, item.amount - count), reset

    def _storage_failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self.settings.storage_retry_seconds
        log.warning(
            "rate_limit.storage_unavailable",
            storage=_where(self.settings.storage_uri),
            error=f"{type(exc).__name__}: {exc}",
            hint=f"calls go unlimited; retried in {self.settings.storage_retry_seconds:g} s — "
            "check that Redis answers at REPAYGUARD_RATE_LIMIT__STORAGE_URI",
        )
        if self._meter is not None:
            self._meter.rate_limit_storage_failed()


_MAX_BUDGETS: Final = 100_000
"""Budgets kept resolved (:meth:`RateLimiter.budget`); past it the table starts afresh."""


class Budget:
    """One caller's budget on one class of route in this process's fixed windows, its limit,
    window length and counter key resolved once: finding them was most of a check's ~2 µs."""

    __slots__ = ("_counts", "_key", "_period", "amount", "item", "route_class")

    def __init__(
        self, route_class: RouteClass, key: str, item: RateLimitItem, counts: ProcessCounters
    ) -> None:
        self.route_class = route_class
        self.item = item
        self.amount = item.amount
        self._period = item.get_expiry()
        self._key = (route_class, key, item.amount, self._period)
        self._counts = counts

    def hit(self, at: float) -> Verdict:
        """Count one call at ``at`` (epoch seconds); windows are aligned to the epoch."""
        period = self._period
        window, into = divmod(at, period)
        reset = ceil(period - into)  # into < period: at least 1
        count = self._counts.incr(self._key, window, now=at, ends_at=at + reset)
        amount = self.amount
        # tuple.__new__: a named tuple's own constructor is a Python function (entitlements.view).
        verdict = (self.route_class, count <= amount, self.item, max(0, amount - count), reset)
        return tuple.__new__(Verdict, verdict)


class ProcessCounters:
    """Fixed-window counts kept in this process (``memory://``): a dict under a lock, windows
    past their end swept once a minute.

    Not the ``limits`` library's memory storage: while it holds counts it starts an expiry
    thread every 10 ms, and those thread starts and hand-offs made an authorize call on the
    fast path take 77.8 µs instead of 30.5 µs in-process on a loaded machine. A whole check
    here costs ~2.3 µs of CPU. The moving window still uses the library's storage.
    """

    SWEEP_SECONDS: Final = 60.0

    def __init__(self) -> None:
        self._counts: dict[Hashable, list[float]] = {}  # key -> [window, count, window end]
        self._lock = threading.Lock()  # the framework checks on several threads
        self._next_sweep = 0.0

    def incr(self, key: Hashable, window: float, *, now: float, ends_at: float) -> int:
        """Count one call of ``key`` in ``window`` (which ends at ``ends_at``; both epoch
        seconds); the calls counted in this window so far, this one included."""
        with self._lock:
            entry = self._counts.get(key)
            if entry is None or entry[0] != window:
                entry = self._counts[key] = [window, 0, ends_at]
            entry[1] += 1
            if now >= self._next_sweep:
                self._sweep(now)
            return int(entry[1])

    def __len__(self) -> int:
        return len(self._counts)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.SWEEP_SECONDS
        for key in [k for k, (_, _, ends) in self._counts.items() if ends <= now]:
            del self._counts[key]


def build_limiter(
    settings: Settings, *, clock: Clock, meter: RateLimitMeter | None
) -> RateLimiter | None:
    """The process's limiter, or None when nothing is limited (switched off, or access
    control off)."""
    if not settings.rate_limit.enabled or settings.security.auth != "required":
        return None
    return RateLimiter(settings.rate_limit, clock=clock, meter=meter)


def login_class(method: str, path: str) -> RouteClass | None:
    """``login`` for the password login routes; None for the public routes left unlimited."""
    return "login" if (method, path) in LOGIN_ROUTES else None


def enforce(
    limiter: RateLimiter, state: MutableMapping[str, Any], route_class: RouteClass, key: str
) -> None:
    """Count a framework call; keep its verdict for :class:`RateLimitHeaders`; refuse it with
    :class:`RateLimited` when it is over budget."""
    verdict = limiter.check(route_class, key)
    if verdict is None:
        return
    state[STATE_KEY] = verdict
    if not verdict.allowed:
        raise verdict.refusal()


class RateLimitHeaders:
    """ASGI middleware: the ``RateLimit-*`` headers of the call's verdict on the framework's
    answer (success or refusal), when :func:`enforce` left one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                verdict = scope.get("state", {}).get(STATE_KEY)
                if isinstance(verdict, Verdict):
                    message = {**message, "headers": [*message["headers"], *verdict.headers()]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def send_refusal(
    send: Send, verdict: Verdict, *, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer a refused call outside the framework (the authorize fast path): the same
    problem document and headers the framework sends, plus ``headers`` (the request id)."""
    refusal = verdict.refusal()
    body = orjson.dumps(
        {
            "type": f"https://repayguard.dev/problems/{refusal.code}",
            "title": refusal.code.replace("_", " "),
            "status": refusal.http_status,
            "detail": refusal.message,
            "code": refusal.code,
            "hint": refusal.hint,
            "extra": refusal.detail,
        }
    )
    headers = [
        (b"content-type", _PROBLEM),
        (b"content-length", str(len(body)).encode()),
        *verdict.headers(),
        *headers,
    ]
    await send({"type": "http.response.start", "status": refusal.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _where(uri: str) -> str:
    """The storage's address without credentials, for the log."""
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
