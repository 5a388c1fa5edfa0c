# notifgql: configuration comes from NOTIFGQL_* environment variables (see README).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NOTIFGQL_DATABASE_URL=sqlite+aiosqlite:////var/lib/notifgql/notifgql.db

RUN useradd --system --uid 10001 --home-dir /var/lib/notifgql --create-home notifgql

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /src

USER notifgql
WORKDIR /var/lib/notifgql
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
CMD ["notifgql", "serve", "--host", "0.0.0.0"]
