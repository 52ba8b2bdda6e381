"""`python -m bench [name ...] [--quick]`: run the benchmarks (all of them by default) and print their tables.

Figures are informational; the exit status is 0 unless a benchmark could not run at all.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from bench import applications, auth, notifications, pages, payments, search, sync

BENCHMARKS: dict[str, Callable[..., None]] = {
    "applications": applications.run,
    "auth": auth.run,
    "notifications": notifications.run,
    "pages": pages.run,
    "payments": payments.run,
    "search": search.run,
    "sync": sync.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs, for trying the benchmark itself")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    for name in args.names or list(BENCHMARKS):
        BENCHMARKS[name](quick=args.quick)


if __name__ == "__main__":
    main()
