# syntax=docker/dockerfile:1
# The Pluggable Rule Engine: gunicorn serving the Django app as a non-root user.
# It listens on all interfaces (BIND) for the proxy in front of it, nginx in
# docker-compose.yml; sync workers must not face clients directly.
#   docker build -t rule-engine .
#   docker run --rm -p 8000:8000 --env-file .env -e DATABASE_URL=postgres://... rule-engine
ARG PYTHON_VERSION=3.11

# Stage 1: build a wheel of every pinned runtime dependency.
FROM python:${PYTHON_VERSION}-slim-bookworm AS wheels
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels --requirement requirements.txt

# Stage 2: the runtime, with only the installed wheels and the application.
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8000 \
    BIND=0.0.0.0:8000 \
    DATABASE_URL=sqlite:////app/data/db.sqlite3
WORKDIR /app
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt \
    pip install --no-index --find-links=/wheels --requirement /tmp/requirements.txt \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app \
    && mkdir /app/data \
    && chown app:app /app/data
# The code belongs to root and is read-only for the app user; only
# /app/data (the SQLite default) is writable.
COPY . .
# collectstatic reads no secret and no database; the key only lets settings load.
RUN SECRET_KEY=collectstatic-only-not-used-at-run-time python manage.py collectstatic --noinput
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "scripts/healthcheck.py"]
CMD ["gunicorn", "--config", "gunicorn.conf.py"]
