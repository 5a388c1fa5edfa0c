# notifgql: configuration comes from NOTIFGQL_* environment variables (see README).
# `serve --host 0.0.0.0` refuses the public development secret: run with -e NOTIFGQL_JWT_SECRET.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NOTIFGQL_PORT=8080 \
    NOTIFGQL_DATABASE_URL=sqlite+aiosqlite:////var/lib/notifgql/notifgql.db

RUN useradd --system --uid 10001 --home-dir /var/lib/notifgql --create-home notifgql

WORKDIR /src
# The locked versions first, in a layer of their own that source changes do not invalidate.
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install --no-deps . && rm -rf /src

USER notifgql
WORKDIR /var/lib/notifgql
# The SQLite file lives here; mount a volume to keep it across containers.
VOLUME ["/var/lib/notifgql"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['NOTIFGQL_PORT'], timeout=2)"
CMD ["notifgql", "serve", "--host", "0.0.0.0"]
