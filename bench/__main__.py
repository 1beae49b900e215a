"""`python -m bench` runs every benchmark in order; `python -m bench planning startup` runs some."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from datetime import UTC, datetime

from bench import BENCHMARKS
from bench.common import cpu_count, memory_total, python_version


def main(argv: list[str] | None = None) -> int:
    """Runs the named benchmarks (all by default) and prints their figures."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"one or more of: {', '.join(BENCHMARKS)} (default: all, in that order)",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(
            f"no benchmark named {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    names = [n for n in BENCHMARKS if n in args.names] if args.names else list(BENCHMARKS)
    print(f"Pitstop benchmarks {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {', '.join(names)}")
    print(
        f"python {python_version()}, cpus {cpu_count()}, memory {memory_total()}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    for name in names:
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        module.main()
        print(f"   ({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
