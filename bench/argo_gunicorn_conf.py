"""gunicorn hooks for bench/argo_latest.py: per-worker request counts (the
connection split the benchmark records) and, for Argo, the number of open
SQLite connections in each worker. Each worker rewrites
$ARGO_BENCH_COUNTS_DIR/<pid>.json every 0.2 s from a background thread."""

import itertools
import json
import os
import threading
import time

_counter = itertools.count(1)  # next() is atomic under the GIL
_state = {"requests": 0}


def post_request(worker, req, environ, resp):
    _state["requests"] = next(_counter)


def _writer(worker, out_dir):
    path = os.path.join(out_dir, f"{os.getpid()}.json")
    while True:
        record = {"pid": os.getpid(), "requests": _state["requests"]}
        app = getattr(worker, "wsgi", None)
        store = getattr(app, "extensions", {}).get("argo_store") if app is not None else None
        if store is not None:
            record["sqlite_connections"] = store.open_connections()
            record["threads"] = worker.cfg.threads
        tmp = path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(record, fh)
        os.replace(tmp, path)
        time.sleep(0.2)


def post_worker_init(worker):
    out_dir = os.environ.get("ARGO_BENCH_COUNTS_DIR")
    if out_dir:
        threading.Thread(target=_writer, args=(worker, out_dir), daemon=True).start()
