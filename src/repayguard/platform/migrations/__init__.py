"""Alembic migrations of repayguard's schema (SQLite and PostgreSQL)."""
