"""Every model, imported here so Alembic and create_all() see the whole schema."""

from app.accounts.mail_models import AccountMail  # noqa: F401
from app.accounts.models import User  # noqa: F401
from app.accounts.security_models import AuditLog, FailedLogin, LoginLock, RevokedToken  # noqa: F401
from app.core.sqlbase import Base, utcnow  # noqa: F401
from app.feed.models import Signal  # noqa: F401
from app.keys.models import ApiKey  # noqa: F401
from app.metrics.models import RequestMetricMinute, RollupBatch, RollupRejectedRow, SignalDeliveryDaily  # noqa: F401
from app.usage.models import FeedUsageDaily  # noqa: F401
from app.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookMessage  # noqa: F401
