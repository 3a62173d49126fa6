"""Persistence: SQLModel tables, the engine, bulk writes and migrations."""
