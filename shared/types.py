"""Column types shared by the services."""
from datetime import timezone
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.types import TypeDecorator


class ExactDecimal(TypeDecorator):
    """Decimal stored exactly: NUMERIC on PostgreSQL, text on SQLite (which has no decimal type)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 2, precision: int = 14):
        super().__init__()
        self.scale = scale
        self.precision = precision

    def __repr__(self):  # Alembic writes this into migrations
        return f"ExactDecimal(scale={self.scale}, precision={self.precision})"

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money is never a float")
        quantized = Decimal(value).quantize(Decimal(1).scaleb(-self.scale))
        return str(quantized) if dialect.name == "sqlite" else quantized

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).quantize(Decimal(1).scaleb(-self.scale))


class UtcDateTime(TypeDecorator):
    """A moment stored with its zone and always read back aware, in UTC: SQLite keeps no
    zone and hands back naive datetimes, which this column marks as the UTC they were
    written in, so no caller ever adds the zone itself."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def __repr__(self):  # Alembic writes this into migrations
        return "sa.DateTime(timezone=True)"

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise TypeError("a moment is stored with its zone")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
