"""Shapes of the rules API, one module per family of endpoints."""
