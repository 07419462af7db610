# Queuey: one image for the API (default CMD), the workers and the watchdog.
#   docker build -t queuey .
#   docker run -e DJANGO_SECRET_KEY=... -e DATABASE_URL=... -e REDIS_URL=... -p 8000:8000 queuey
#   docker run ... queuey python manage.py runworker --processes 2
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

RUN groupadd --system --gid 10001 queuey \
    && useradd --system --uid 10001 --gid queuey --home-dir /app --shell /usr/sbin/nologin queuey

# Dependencies first so code changes don't reinstall them (all pins ship manylinux wheels,
# psycopg[binary] included: no compiler or libpq needed).
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Static files are collected at build time; the secret is a throwaway used only here.
RUN DJANGO_SECRET_KEY=build-time-dummy-not-used-at-runtime DJANGO_DEBUG=false \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown queuey:queuey /app/var

USER queuey

# gunicorn.conf.py reads these. For correct /metrics with several gunicorn workers also set
# PROMETHEUS_MULTIPROC_DIR (a writable dir, e.g. /tmp/prometheus) on the API container only;
# gunicorn's on_starting hook creates and empties it (docker-compose.yml does this).
ENV GUNICORN_BIND=0.0.0.0:8000 \
    GUNICORN_WORKERS=2 \
    GUNICORN_THREADS=4

EXPOSE 8000
STOPSIGNAL SIGTERM

CMD ["gunicorn", "-c", "gunicorn.conf.py", "queuey_site.wsgi"]
