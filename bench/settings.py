"""Settings of the benchmark: the service's own, with the plain view routed too."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
