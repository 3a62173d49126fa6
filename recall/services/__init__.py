"""Use-cases. Each takes a session (or the Database) and plain arguments, owns its
transaction, writes the audit log and returns plain dataclasses."""
