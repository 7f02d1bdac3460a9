"""Settings of the providers benchmark's server: the service's own, plus the bench providers.

``bench.providers_app`` declares three more providers (``stock``, ``credit``,
``flaky``) and a rule needing each; their addresses come from the
environment, as the risk service's does. Nothing else differs from
``config.settings``.
"""

import os

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.providers_app"]

BENCH_STOCK_URL = os.environ.get("BENCH_STOCK_URL", "")
BENCH_CREDIT_URL = os.environ.get("BENCH_CREDIT_URL", "")
BENCH_FLAKY_URL = os.environ.get("BENCH_FLAKY_URL", "")
