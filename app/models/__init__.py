"""Every model, imported here so Alembic and create_all() see the whole schema."""
from app.sqlbase import Base, utcnow  # noqa: F401
from app.models.user import User  # noqa: F401
from app.models.security import AuditLog, FailedLogin, LoginLock, RevokedToken  # noqa: F401
from app.models.signal import Signal  # noqa: F401
from app.models.request_metrics import (  # noqa: F401
    RequestMetricMinute, RollupBatch, RollupRejectedRow, SignalDeliveryDaily)
