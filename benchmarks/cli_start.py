"""How long `cib --help` and `cib --version` take, against the interpreter starting and
importing the CLI library alone (the floor no command can go under).

    python benchmarks/cli_start.py [--runs 10]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

CASES = [
    ("python -c pass (baseline)", [sys.executable, "-c", "pass"]),
    ("python -c 'import typer' (baseline)", [sys.executable, "-c", "import typer"]),
    ("cib --version", ["cib", "--version"]),
    ("cib --help", ["cib", "--help"]),
    ("cib check", ["cib", "check"]),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("cib") is None:
        sys.exit("install the project first: pip install -e .")
    print(f"{'command':<40} {'median s':>9} {'min s':>7}")
    for name, command in CASES:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - started)
        print(f"{name:<40} {statistics.median(times):>9.3f} {min(times):>7.3f}")


if __name__ == "__main__":
    main()
