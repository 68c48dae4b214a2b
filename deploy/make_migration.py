"""Write a new Alembic revision for a service from its models: `PYTHONPATH=. python deploy/make_migration.py adhesion "what changed"`."""
import sys
import tempfile

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

service, message = sys.argv[1], sys.argv[2]
d = tempfile.mkdtemp()
engine = create_engine(f"sqlite:///{d}/x.db")
cfg = Config()
cfg.set_main_option("script_location", f"services/{service}/migrations")
with engine.begin() as conn:
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")
    command.revision(cfg, message=message, autogenerate=True)
