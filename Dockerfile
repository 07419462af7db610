# syntax=docker/dockerfile:1
#
# Queuey: one image for the API (the default CMD), the workers and the watchdog.
#
#   docker build -t queuey .
#   docker run -e DJANGO_SECRET_KEY=... -e DATABASE_URL=... -e REDIS_URL=... -p 8000:8000 queuey
#   docker run -e QUEUEY_ROLE=worker ... queuey python manage.py runworker --processes 2
#   docker run -e QUEUEY_ROLE=watchdog ... queuey python manage.py runwatchdog
#   docker run ... queuey python manage.py migrate --noinput        (once, before a rollout)
#
# QUEUEY_ROLE tells the HEALTHCHECK what to probe (queuey_site/container_health.py): api
# (the default) asks /healthz, worker and watchdog read the heartbeat file their loop
# touches. docker-compose.yml and deploy/ecs/ set it per service.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: wheels for every pinned requirement, installed into a virtualenv ----------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Every pin ships a manylinux wheel (psycopg[binary] and hiredis included), so no compiler
# is needed; a pin that some day needs one gets build-essential here, never in the runtime.
COPY requirements.txt /tmp/requirements.txt
RUN pip wheel --wheel-dir /wheels -r /tmp/requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /wheels -r /tmp/requirements.txt

# --- runtime: the virtualenv and the code, nothing else --------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# Bytecode is compiled below, at build time: the code is read-only for the process user, so
# nothing is written at run time (PYTHONDONTWRITEBYTECODE), and nothing is compiled at each
# process start either (0.2-0.3 s of a worker's start without it).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 queuey \
    && useradd --system --uid 10001 --gid queuey --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin queuey

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
COPY . .

# Static files are collected at build time (whitenoise serves them); the secret is a
# throwaway used only by this command. Then every module is compiled: the standard library
# (the official image ships it without .pyc files), the virtualenv (pip compiled it in the
# builder; this is a no-op unless the copy changed mtimes) and the project. var/ is the one
# directory the process user may write (SQLite's default location; unused with PostgreSQL).
RUN DJANGO_SECRET_KEY=build-time-dummy-not-used-at-runtime DJANGO_DEBUG=false \
        python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q -j 0 /usr/local/lib/python3.11 /opt/venv /app \
    && mkdir -p /app/var \
    && chown queuey:queuey /app/var

# gunicorn.conf.py reads GUNICORN_* (workers and threads come from here, never from the
# host's CPU count: a container sees the host's cores, not its CPU quota). Set
# PROMETHEUS_MULTIPROC_DIR (e.g. /tmp/prometheus) on the API only: gunicorn empties it at
# start and /metrics sums its workers. The heartbeat file is touched by workers and the
# watchdog; the API role ignores it.
ENV QUEUEY_ROLE=api \
    QUEUEY_HEARTBEAT_FILE=/tmp/queuey-heartbeat \
    GUNICORN_BIND=0.0.0.0:8000 \
    GUNICORN_WORKERS=2 \
    GUNICORN_THREADS=4

USER 10001:10001

EXPOSE 8000
# Workers drain on SIGTERM (QUEUEY_SHUTDOWN_GRACE, 25 s by default), gunicorn within
# GUNICORN_GRACEFUL_TIMEOUT: give the container at least that long before SIGKILL
# (docker stop -t, Compose stop_grace_period, ECS stopTimeout).
STOPSIGNAL SIGTERM

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "queuey_site.container_health"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "queuey_site.wsgi"]
