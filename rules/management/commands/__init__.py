"""Commands: ``risk_service``."""
