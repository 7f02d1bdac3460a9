"""Commands: ``purge_decisions``."""
