"""GET /api/admin/security: failed logins, locked accounts, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.accounts import login_throttle
from app.accounts.auth_views import BEARER
from app.accounts.security_models import AuditLog
from app.admin import blp
from app.admin.metrics_schemas import SecuritySchema
from app.extensions import db

RECENT_FAILURES = 20
TOP_IPS = 10
AUDIT_ENTRIES = 50


@blp.get("/security")
@blp.response(200, SecuritySchema)
@blp.alt_response(403, response="FORBIDDEN", description="forbidden: not an admin")
@blp.doc(security=BEARER)
def get_security():
    """Failed logins of the last 24 h (the 20 latest, the 10 busiest IPs), accounts locked
    now, and the 50 latest audit-log entries."""
    now = datetime.now(UTC)
    stats = login_throttle.failed_login_stats(now - timedelta(hours=24), recent=RECENT_FAILURES, top=TOP_IPS)
    audit = db.session.execute(
        select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(AUDIT_ENTRIES)
    ).scalars()
    return {
        "failed_logins_24h": stats["count"],
        "recent_failed_logins": stats["recent"],
        "locked_accounts": login_throttle.locked_accounts(now),
        "top_failure_ips": stats["top_ips"],
        "audit_log": [
            {
                "actor_id": e.actor_id,
                "action": e.action,
                "target_id": e.target_id,
                "before": e.before,
                "after": e.after,
                "ip": e.ip,
                "at": e.at.isoformat(),
            }
            for e in audit
        ],
    }
