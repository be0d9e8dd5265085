"""What tests build on: the fixed time and settings (``common``), record builders, and one kit
per feature or component (approvals, complaints, NATS, PostgreSQL clusters, real processes,
the console's browser, …). Fixtures live in ``conftest.py``; tests import helpers from here,
never from ``conftest``."""
