"""Render the nginx front: ``python deploy/render_nginx.py [OUT_DIR]``.

Fills the ``${NAME}`` placeholders of ``nginx.conf.template`` from the
environment (defaults below) and writes ``OUT_DIR/nginx.conf`` beside a copy of
``json_errors.conf`` (it is included by a path relative to nginx.conf).
Without OUT_DIR it rewrites ``deploy/nginx.conf``, the defaults as shipped.
Standard library only, so it runs before the venv exists.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "nginx.conf.template"
INCLUDES = ("json_errors.conf",)

DEFAULTS = {
    "ALPINE_LISTEN": "8080",  # where clients reach Alpine (every interface)
    # Where other hosts reach Argo; an Alpine on the same host calls Argo's
    # gunicorn directly (ARGO_URL=http://127.0.0.1:5001), it is no slow client.
    "ARGO_LISTEN": "8081",
    "ALPINE_UPSTREAM": "127.0.0.1:5000",  # gunicorn wsgi:app (127.0.0.1:$ALPINE_PORT)
    "ARGO_UPSTREAM": "127.0.0.1:5001",  # gunicorn argo_app (127.0.0.1:$ARGO_PORT)
    "NGINX_WORKERS": "auto",
    "NGINX_ACCESS_LOG": "off",
    "CLIENT_TIMEOUT": "10s",
    "PROXY_READ_TIMEOUT": "35s",
}

PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")


def render(out_dir: Path | str, **settings: str) -> Path:
    """Write OUT_DIR/nginx.conf (+ its includes); returns the nginx.conf path."""
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown nginx settings: {', '.join(sorted(unknown))}")
    values = {**DEFAULTS, **{k: str(v) for k, v in settings.items()}}
    text = PLACEHOLDER.sub(lambda m: values[m.group(1)], TEMPLATE.read_text())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in INCLUDES:
        if (out / name).resolve() != (HERE / name):
            shutil.copyfile(HERE / name, out / name)
    target = out / "nginx.conf"
    target.write_text(text)
    return target


def from_environment() -> dict[str, str]:
    """The settings named in the environment; the upstreams follow ALPINE_PORT / ARGO_PORT."""
    settings = {}
    for port_var, upstream in (("ALPINE_PORT", "ALPINE_UPSTREAM"), ("ARGO_PORT", "ARGO_UPSTREAM")):
        if os.environ.get(port_var):
            settings[upstream] = f"127.0.0.1:{os.environ[port_var]}"
    settings.update({name: os.environ[name] for name in DEFAULTS if os.environ.get(name)})
    return settings


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    sys.stdout.write(f"{render(out_dir, **from_environment())}\n")
