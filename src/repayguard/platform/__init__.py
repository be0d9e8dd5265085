"""Platform: database, unit of work, outbox, bus, clock and logging — no business rules."""
