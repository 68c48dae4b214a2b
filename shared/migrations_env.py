"""The body of every service's Alembic env.py: migrate on the connection Database.migrate gives."""
from alembic import context


def run(target_metadata) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # `alembic` on the command line: use the configured service URL
        from shared.config import load
        from shared.db import Database

        service = context.config.get_main_option("service")
        database = Database(service, load().database_url_for(service))
        with database.engine.begin() as connection:
            _migrate(connection, target_metadata)
        return
    _migrate(connection, target_metadata)


def _migrate(connection, target_metadata) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
