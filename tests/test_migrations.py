"""The Alembic migrations build exactly the tables bot/store/schema.py describes, on both engines,
and step down and up again cleanly."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store.db import alembic_config, make_engine, migrate, require_current_schema
from bot.store.schema import metadata


def test_migrations_match_the_schema_and_go_down_and_up(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    require_current_schema(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    command.downgrade(alembic_config(engine), "base")
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()
