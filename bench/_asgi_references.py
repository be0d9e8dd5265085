"""Reference servers for ``authorize.py``: the same request answered by a minimal FastAPI
endpoint and by a raw ASGI callable (the ceiling of one uvicorn worker). Both return a fixed
answer of the same shape, without access control; run with ``uvicorn _asgi_references:<name>``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

import orjson
from fastapi import FastAPI
from pydantic import BaseModel

ANSWER = {
    "allowed": False,
    "reasons": [{"code": "REPEATED_FAILED_DEBITS", "text": "Automatic debits failed."}],
    "alternatives": [{"method": "manual", "channel": "app_balance"}],
    "decision_id": "0" * 32,
}


class Ask(BaseModel):
    borrower_id: str
    method: Literal["auto_debit", "early_repayment", "manual"]
    channel: str | None = None


fastapi_app = FastAPI()


@fastapi_app.post("/v1/authorize")
def authorize(body: Ask) -> dict[str, Any]:
    return ANSWER


_BODY = orjson.dumps(ANSWER)
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]

Message = MutableMapping[str, Any]


async def raw_asgi(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
