"""Rules: the metaclass-driven registry, the engine, built-in rules, the rules API."""
