"""Shared by the console's HTTP tests: a client that logs in like a browser (password form,
session cookie kept), and the CSRF token a page's forms carry."""

from __future__ import annotations

import re
from typing import Final

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from repayguard.bootstrap import Container
from repayguard.identity import SetPassword, set_password

PASSWORD: Final = "a long passphrase"
_CSRF: Final = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def logged_in(app: FastAPI, container: Container, username: str) -> TestClient:
    """A browser in which ``username`` has logged in to the console (redirects not followed,
    so each test sees the 303s a browser would)."""
    set_password(SetPassword(username, PASSWORD), uow=container.uow())
    http = TestClient(app, follow_redirects=False)
    landed = http.post(
        "/console/login", data={"username": username, "password": PASSWORD, "next": "/console/"}
    )
    assert landed.status_code == 303, landed.text
    assert "rg_console" in http.cookies
    return http


def csrf_of(page: Response) -> str:
    found = _CSRF.search(page.text)
    assert found is not None, "the page carries the session's CSRF token"
    return found.group(1)
