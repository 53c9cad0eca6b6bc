"""One command for every benchmark: ``./run bench [--rounds N] [--duration S] [--only NAME ...]``.

The first row is the ceiling: a bare Flask JSON endpoint under the same
gunicorn settings as everything else. Each feature's bench module (added by
the issue that built the feature) exposes ``run(rounds, duration)`` and
returns rows; their ratios are computed inside their own interleaved runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Gunicorn, format_table, interleave, median_rps, require_wrk, wrk  # noqa: E402

# Feature benchmarks, in the order the issues built them. A module that is
# missing is reported, not silently skipped.
SUITES = [
    "argo_latest",
    "user_cache",
    "argo_client",
    "metrics_overhead",
    "soak",
    "nginx_front",
    "api_keys",
    "speed2",
]


def ceiling(rounds: int, duration: int) -> list[dict]:
    with Gunicorn("bench.bare_app:create_app()") as bare:
        results = interleave({"bare": lambda d: wrk(bare.url + "/bare", duration=d)}, rounds, duration)
    runs = results["bare"]
    return [
        {
            "suite": "ceiling",
            "name": "bare Flask JSON endpoint",
            "rps": median_rps(runs),
            "ratio": 1.0,
            "non2xx": sum(r.non2xx for r in runs),
            "p99_ms": max(r.p99_ms or 0 for r in runs),
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--only", nargs="*", help="suites to run (ceiling always runs)")
    args = parser.parse_args(argv)
    require_wrk()

    rows = ceiling(args.rounds, args.duration)
    for name in SUITES:
        if args.only and name not in args.only:
            continue
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            print(f"(suite {name}: not present)")
            continue
        print(f"== {name}", flush=True)
        for row in module.run(rounds=args.rounds, duration=args.duration):
            rows.append({"suite": name, **row})
    print()
    columns = ["suite", "name", "rps", "ratio", "non2xx", "p99_ms"]
    # Suites add their own measures (queries per request, rollup seconds...).
    columns += [key for row in rows for key in row if key not in columns and key != "note"]
    columns = list(dict.fromkeys(columns)) + ["note"]
    print(format_table(rows, columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
