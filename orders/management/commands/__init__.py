"""Commands: ``seed_orders``."""
