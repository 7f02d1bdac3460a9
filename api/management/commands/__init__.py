"""Commands: ``create_api_key``."""
