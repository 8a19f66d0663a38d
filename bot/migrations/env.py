"""Alembic environment: the engine comes from the caller (bot.store.db.migrate), never from an ini file."""
from alembic import context

from bot.store.schema import metadata


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
