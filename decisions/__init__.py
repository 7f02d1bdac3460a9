"""Decisions: every check on the record, read back through the API and the admin, purged."""
