"""gunicorn entry point: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Behind the nginx front (deploy/nginx.conf) every request comes from nginx's
address; ``TRUSTED_PROXY_HOPS`` (default 0: no proxy, the headers are ignored)
says how many proxies' ``X-Forwarded-For`` / ``X-Forwarded-Proto`` entries to
trust, counted from the right: 1 when nginx is the only proxy, 2 with a load
balancer in front of nginx. Trusting more hops than there are proxies lets a
client pick its own IP (and so dodge the per-IP login throttle).
"""

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from app import create_app


def behind_proxies(wsgi_app, hops: int):
    if hops <= 0:
        return wsgi_app
    return ProxyFix(wsgi_app, x_for=hops, x_proto=hops)


app = create_app()
app.wsgi_app = behind_proxies(app.wsgi_app, int(os.environ.get("TRUSTED_PROXY_HOPS") or 0))
