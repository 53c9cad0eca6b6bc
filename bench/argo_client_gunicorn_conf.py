"""gunicorn settings for bench/argo_client.py: the repo's gunicorn.conf.py plus
per-worker counters of requests and of *new TCP connections* (a request whose
``req_number`` is 1 is the first on its connection, i.e. gunicorn just
accepted that connection). Each worker rewrites
$FEED_BENCH_COUNTS_DIR/<pid>.json every 0.2 s from a background thread."""

import importlib.util
import itertools
import json
import os
import threading
import time

_base_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gunicorn.conf.py")
_spec = importlib.util.spec_from_file_location("_alpine_gunicorn_conf", _base_path)
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
globals().update({k: v for k, v in vars(_base).items() if not k.startswith("_")})

_requests = itertools.count(1)  # next() is atomic under the GIL
_connections = itertools.count(1)
_state = {"requests": 0, "connections": 0}


def pre_request(worker, req):
    _state["requests"] = next(_requests)
    if req.req_number == 1:
        _state["connections"] = next(_connections)


def _writer(out_dir):
    path = os.path.join(out_dir, f"{os.getpid()}.json")
    while True:
        tmp = path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump({"pid": os.getpid(), **_state}, fh)
        os.replace(tmp, path)
        time.sleep(0.2)


def post_worker_init(worker):
    out_dir = os.environ.get("FEED_BENCH_COUNTS_DIR")
    if out_dir:
        threading.Thread(target=_writer, args=(out_dir,), daemon=True).start()
