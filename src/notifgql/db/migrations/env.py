"""Alembic environment: runs on the connection that notifgql.db.migrate hands over."""

from alembic import context

from notifgql.db.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `notifgql migrate`; it supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
