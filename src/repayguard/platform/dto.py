"""The one base of every API DTO: unknown fields are refused, not silently dropped."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, StringConstraints

# An integer input that reaches a query is declared within the range of the column or clause it
# meets, so one out of range is refused as invalid input instead of overflowing in the database
# driver (a 500): SQLite stores 64 bits, PostgreSQL's ``integer`` 32 and ``bigint`` 64.
SQL_INTEGER_MIN: Final = -(2**31)
SQL_INTEGER_MAX: Final = 2**31 - 1
"""An ``Integer`` column: policy version numbers."""
SQL_BIGINT_MAX: Final = 2**63 - 1
"""A ``BigInteger`` column or a LIMIT/OFFSET: page offsets, audit sequence numbers."""

BorrowerKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""A borrower id as a path parameter: within the 64 characters every borrower column holds, so
a longer one is refused as invalid input (422) instead of overflowing the column (a 500 on
PostgreSQL)."""


class Schema(BaseModel):
    """Base of request and response bodies (apart from ORM rows and core frames)."""

    model_config = ConfigDict(extra="forbid")
