from services.audit.models import Base
from shared.migrations_env import run

run(Base.metadata)
