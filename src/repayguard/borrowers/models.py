"""Table of borrower profiles: personal fields encrypted one by one, the locale in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class BorrowerProfileRow(Base):
    """A borrower's contact data. ``*_enc`` hold AES-GCM ciphertexts (key id inside);
    ``key_id`` names the key of the whole row, so rotation finds stale rows by index."""

    __tablename__ = "borrower_profiles"

    borrower_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_enc: Mapped[str] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    national_id_enc: Mapped[str | None] = mapped_column(Text)
    email_enc: Mapped[str | None] = mapped_column(Text)
    region_enc: Mapped[str | None] = mapped_column(Text)
    birth_year_enc: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8))
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
