"""Settings of the plain baseline: the service's own, under Django's stock middleware only.

The plain view runs as in a project fresh from ``startproject``: the seven
middleware classes it lists, none of ours (request ids, the access log) and
no whitenoise; its route has no DRF either. Database, security settings and
logging are the service's own, so that only the stack differs.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
