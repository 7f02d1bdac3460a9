"""Throughput benchmark of ``POST /rules/check/`` against a plain Django view."""
