"""Alembic environment: migrations run on the connection the app hands over (see ``migrate.py``)."""

from alembic import context

from desktop_app.core.db.models import Base
from desktop_app.core.db.search_index import outside_the_index

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the app always passes its connection
    raise RuntimeError("Run migrations through desktop_app.core.db.migrate.upgrade().")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=outside_the_index,  # the patient search index is made by hand
)
with context.begin_transaction():
    context.run_migrations()
