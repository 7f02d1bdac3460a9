"""Bench-only providers and the rules needing them; only ``bench.provider_settings`` installs it.

Only one provider ships (``risk``); ``bench/providers.py`` needs three at
once, and one with a 200 ms timeout, so this app declares them. Each is
served by a stand-in risk service (``rules.risk_service``), which answers
``{"score": N}``: every bench provider supplies one fact, ``<name>.score``.
"""
