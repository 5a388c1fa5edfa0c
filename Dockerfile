# notifgql: configuration comes from NOTIFGQL_* environment variables (see README).
# `serve --host 0.0.0.0` refuses the public development secret: run with -e NOTIFGQL_JWT_SECRET.
# GraphiQL's browser files, from the npm versions graphiql/package-lock.json pins, with Debian's
# nodejs and npm in a stage of their own: the image that serves has neither.
FROM python:3.12-slim AS graphiql
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/bootstrap.sh scripts/graphiql-assets.sh scripts/graphiql_assets.py ./scripts/
COPY graphiql/package.json graphiql/package-lock.json ./graphiql/
RUN bash scripts/graphiql-assets.sh

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
COPY --from=graphiql /src/src/notifgql/graphiql/vendor ./src/notifgql/graphiql/vendor
RUN pip install --no-deps . && rm -rf /src

USER notifgql
WORKDIR /var/lib/notifgql
# The SQLite file lives here; mount a volume to keep it across containers.
VOLUME ["/var/lib/notifgql"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['NOTIFGQL_PORT'], timeout=2)"
CMD ["notifgql", "serve", "--host", "0.0.0.0"]
