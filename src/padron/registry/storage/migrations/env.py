"""Alembic environment: runs on the engine padron hands over (see database.alembic_config)."""

from __future__ import annotations

from alembic import context

from padron.registry.storage.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - padron always passes its engine
    raise RuntimeError("run migrations through `padron init` (Database.migrate)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
