"""API shapes of borrower profiles; responses to writes never echo personal values."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from repayguard.platform.dto import Schema

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@" + _LABEL + r"(?:\." + _LABEL + r")+$"
"""An ordinary address (the HTML form rule, with a dot in the domain): no spaces, commas or
angle brackets, so it can only ever name one mailbox in a header."""


class ProfileIn(Schema):
    """A borrower's profile; name, phone, national ID and e-mail are stored encrypted."""

    name: str = Field(min_length=1, max_length=200, description="Full name.")
    phone: str | None = Field(
        default=None,
        pattern=r"^\+?[0-9][0-9 -]{5,19}$",
        description="Phone number (digits, optional leading +, spaces or dashes).",
    )
    national_id: str | None = Field(
        default=None, pattern=r"^[0-9A-Za-z]{4,32}$", description="National ID number."
    )
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=EMAIL_PATTERN,
        description="E-mail address (where the e-mail notice channel writes).",
    )
    locale: Literal["en", "zh-CN"] = Field(
        default="zh-CN", description="Language of notices and explanations."
    )
    region: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Region (province, state…); for fairness checks by region. Encrypted.",
    )
    birth_year: int | None = Field(
        default=None, ge=1900, le=2100, description="Year of birth; for age bands. Encrypted."
    )


class ProfileSavedRead(Schema):
    borrower_id: str = Field(description="The borrower.", examples=["B-1042"])
    created: bool = Field(description="True when the profile was new, false when replaced.")
    changed_fields: list[str] = Field(description="Fields whose values changed (no values).")
    locale: str = Field(description="The locale notices are written in.", examples=["en"])
    updated_at: datetime = Field(description="When the profile was last written.")


class ProfileRead(Schema):
    borrower_id: str = Field(description="The borrower.", examples=["B-1042"])
    name: str = Field(description="The borrower's name (masked unless revealed).")
    phone: str | None = Field(description="The phone number (masked unless revealed).")
    national_id: str | None = Field(description="The national id (masked unless revealed).")
    email: str | None = Field(default=None, description="Masked like z***@example.com.")
    region: str | None = Field(default=None, description="Masked as ***.")
    birth_year: str | None = Field(default=None, description="Masked to the decade (199*).")
    locale: str = Field(description="The locale notices are written in.", examples=["en"])
    masked: bool = Field(description="True unless the values were asked for with reveal=true.")
    updated_at: datetime = Field(description="When the profile was last written.")
