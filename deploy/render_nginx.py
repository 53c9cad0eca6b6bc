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
    "ALPINE_LISTEN": "8080",            # where clients reach Alpine
    "ARGO_LISTEN": "127.0.0.1:8081",    # where Alpine (ARGO_URL) reaches Argo
    "ALPINE_UPSTREAM": "127.0.0.1:5000",  # gunicorn wsgi:app
    "ARGO_UPSTREAM": "127.0.0.1:5001",    # gunicorn argo_app
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
    return {name: os.environ[name] for name in DEFAULTS if os.environ.get(name)}


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    sys.stdout.write(f"{render(out_dir, **from_environment())}\n")
