"""A soak: `cib serve` as its own process under a steady mixed load for `--minutes`, to
see whether it stays steady (memory, open files, threads) and whether a ~10 MB message
holds up anyone else.

    python benchmarks/soak.py [--minutes 10] [--rate 3] [--warmup 2] [--max-slope 0.5]
        [--big-every 60] [--database-url postgresql+asyncpg://...] [--tracemalloc DIR]

The load, from a pool of threads with blocking clients, each on a connection of its own,
at `--rate` things a second: for every 12, four submissions, a question, a nomination and
a malformed message over SMTP (153 councils' addresses in turn), and the workspace signed
in: the overview (/team/), "needs a person", the entries list, one entry and
decisions.csv. Every `--big-every` seconds a submission of about 10 MB (under the size
limit) is sent as well; from its start until its reply reaches the relay, the others' 250s
and pages are counted apart.

Each minute a row: the service's RSS, open files and threads (and its workers' RSS), the
p50/p99 of the 250 (from the end of DATA to the reply) and of the pages. At the end, the
RSS slope after `--warmup` minutes (least squares over each minute's lowest RSS, sampled
every 5 s, so that the passing peak of a big message being read does not count as
growth): the run fails (exit 1) when it is over `--max-slope` MB a minute.

With `--tracemalloc DIR` the service runs under benchmarks/traced_serve.py: a snapshot
each minute into DIR, and the allocation sites that grew most between the first snapshot
after the warm-up and the last are printed.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.smtp import SMTP

from soak_load import CYCLE, MAIL_KINDS, Load, Replies, Sample, big, councils, send_timed
from support import ROOT, TEAM, Service, free_port, percentile, service_env, sign_in
from traced_serve import compare

SAMPLE_EVERY = 5.0
BIG_SIZE = 9_900_000  # what big() aims at; it makes about 9 MB, under CIB_MAX_MESSAGE_SIZE's 10 MiB
ANSWER_WAIT = 120.0  # a big message not answered by then closes its window anyway


@dataclass
class Figures:
    """The service process's figures, sampled over the soak."""

    at: float  # seconds since the start
    rss: float  # MB
    files: int
    threads: int
    workers: float  # MB, the worker processes that read attachments


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":", 1) for line in f if ":" in line)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _rss(pid: int) -> float:
    try:
        return int(_status(pid)["VmRSS"].split()[0]) / 1024
    except (OSError, KeyError):
        return 0.0


def figures(pid: int, at: float) -> Figures:
    status = _status(pid)
    return Figures(at=at, rss=int(status["VmRSS"].split()[0]) / 1024,
                   files=len(list(Path(f"/proc/{pid}/fd").iterdir())), threads=int(status["Threads"]),
                   workers=sum(_rss(child) for child in _children(pid)))


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y); nan with fewer than two points."""
    if len(points) < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float("nan")


@dataclass
class Soak:
    service: Service
    load: Load
    replies: Replies
    started: float
    minutes: float
    traced: Path | None
    seen: list[Figures] = field(default_factory=list)
    windows: list[tuple[float, float]] = field(default_factory=list)  # a big message's, monotonic
    big: list[Sample] = field(default_factory=list)
    big_bytes: int = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def drive(self, pool: ThreadPoolExecutor, rate: float) -> None:
        """Start one thing every 1/rate seconds, in CYCLE's order, until the end (the
        pool waits for the last ones as it closes)."""
        for n in range(int(self.minutes * 60 * rate)):
            await asyncio.sleep(max(0.0, self.started + n / rate - time.monotonic()))
            pool.submit(self.load.run, CYCLE[n % len(CYCLE)])

    async def send_big(self, every: float) -> None:
        """A ~10 MB submission every `every` seconds, from half-way through the first."""
        n = 0
        while self.elapsed() + every / 2 < self.minutes * 60:
            await asyncio.sleep(max(0.0, every / 2 + n * every - self.elapsed()))
            sender, raw = big(n, self.load.places[n % len(self.load.places)], BIG_SIZE)
            self.big_bytes, began = len(raw), time.monotonic()
            code, seconds = await asyncio.to_thread(send_timed, self.service.smtp, sender, raw)
            self.big.append(Sample(began, "big", code, seconds))
            await asyncio.to_thread(_wait_for, lambda: sender.lower() in self.replies.answered, ANSWER_WAIT)
            self.windows.append((began, self.replies.answered.get(sender.lower(), time.monotonic())))
            n += 1

    async def watch(self) -> None:
        """Sample the process every few seconds; print a row and take a snapshot each minute."""
        minute = 0
        while self.elapsed() < self.minutes * 60:
            await asyncio.sleep(SAMPLE_EVERY - self.elapsed() % SAMPLE_EVERY)
            self.seen.append(figures(self.service.pid, self.elapsed()))
            if self.elapsed() >= (minute + 1) * 60 - 0.5:
                if self.traced is not None:
                    self.service.signal(signal.SIGUSR2)
                print(row(self, minute), file=sys.stderr, flush=True)
                minute += 1


def _wait_for(condition, timeout: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _during(at: float, windows: list[tuple[float, float]]) -> bool:
    return any(start <= at <= end for start, end in windows)


def _ms(values: list[float], q: float) -> str:
    value = percentile(values, q) * 1000
    return "–" if math.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


HEADER = ("minute", "mail", "not 250", "250 p50 ms", "250 p99 ms", "pages", "not 200", "page p50 ms",
          "page p99 ms", "RSS MB min–max", "RSS MB at its end", "open files", "threads", "workers MB",
          "others' 250 p99 ms while a big one")


def row(soak: Soak, minute: int) -> str:
    low, high = soak.started + minute * 60, soak.started + (minute + 1) * 60
    with soak.load.lock:
        samples = [s for s in soak.load.samples if low <= s.at < high]
    mail = [s for s in samples if s.kind in MAIL_KINDS]
    pages = [s for s in samples if s.kind not in MAIL_KINDS and s.code]
    within = [f for f in soak.seen if minute * 60 < f.at <= (minute + 1) * 60 + 1]
    during = [s.seconds for s in mail if _during(s.at, soak.windows) and s.code == 250]
    cells = [str(minute + 1), str(len(mail)), str(sum(s.code != 250 for s in mail)),
             _ms([s.seconds for s in mail if s.code == 250], .5), _ms([s.seconds for s in mail if s.code == 250], .99),
             str(len(pages)), str(sum(s.code != 200 for s in pages)), _ms([s.seconds for s in pages], .5),
             _ms([s.seconds for s in pages], .99)]
    if within:
        last = within[-1]
        cells += [f"{min(f.rss for f in within):.0f}–{max(f.rss for f in within):.0f}", f"{last.rss:.1f}",
                  str(last.files), str(last.threads), f"{last.workers:.0f}"]
    else:
        cells += ["–"] * 5
    cells.append(f"{_ms(during, .99)} ({len(during)})" if during else "–")
    return "| " + " | ".join(cells) + " |"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the load runs (default 10)")
    parser.add_argument("--rate", type=float, default=3.0,
                        help="things done a second, 7 in 12 of them mail (default 3)")
    parser.add_argument("--warmup", type=float, default=2.0, help="minutes left out of the slope (default 2)")
    parser.add_argument("--max-slope", type=float, default=0.5, help="MB a minute of RSS growth allowed (default 0.5)")
    parser.add_argument("--big-every", type=float, default=60.0, help="seconds between ~10 MB messages (0: none)")
    parser.add_argument("--threads", type=int, default=16, help="the load's clients at most at once (default 16)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server (postgresql+asyncpg://...): a new database on it (default: SQLite)")
    parser.add_argument("--tracemalloc", type=Path, default=None, metavar="DIR",
                        help="trace the service's allocations; a snapshot each minute into DIR")
    return parser.parse_args()


async def start(args: argparse.Namespace, folder: Path, database_url: str) -> tuple[Service, Replies, object]:
    replies = Replies()
    relay = await asyncio.get_running_loop().create_server(lambda: SMTP(replies), "127.0.0.1", 0)
    env = service_env(database_url, free_port(), free_port(), relay.sockets[0].getsockname()[1],
                      CIB_TEAM_EMAILS=TEAM, CIB_LOG_LEVEL="WARNING", CIB_OUTBOX_DIR=str(folder / "outbox"))
    launcher = ("-m", "intake") if args.tracemalloc is None else (
        str(ROOT / "benchmarks" / "traced_serve.py"), str(args.tracemalloc))
    service = Service(env, folder, launcher=launcher)
    await service.start()
    return service, replies, relay


def cookie_of(browser) -> str:  # noqa: ANN001 - a TeamBrowser
    return "; ".join(f"{c.key}={c.value}" for c in browser.session.cookie_jar)


async def soak(args: argparse.Namespace, database_url: str) -> Soak:
    folder = Path(tempfile.mkdtemp(prefix="cib-soak-"))
    service, replies, relay = await start(args, folder, database_url)
    try:
        browser = await sign_in(service.http, replies)
        cookie = cookie_of(browser)
        await browser.session.close()
        load = Load(service.smtp, service.http, cookie, councils())
        run = Soak(service, load, replies, time.monotonic(), args.minutes, args.tracemalloc)
        print("| " + " | ".join(HEADER) + " |\n|" + "---|" * len(HEADER), file=sys.stderr, flush=True)
        with ThreadPoolExecutor(args.threads) as pool:
            tasks = [run.drive(pool, args.rate), run.watch()]
            if args.big_every > 0:
                tasks.append(run.send_big(args.big_every))
            await asyncio.gather(*tasks)
        if args.tracemalloc is not None:
            service.signal(signal.SIGUSR2)
            await asyncio.sleep(10)
    finally:
        await service.stop(timeout=120)
        relay.close()  # type: ignore[attr-defined]
    return run


def report(run: Soak, args: argparse.Namespace) -> float:
    """Print the table, the big messages' effect and the slope; the slope in MB a minute."""
    print(f"\n{args.minutes:g} minutes at {args.rate:g} a second ({len(run.load.samples)} things done, "
          f"{len(run.big)} messages of {run.big_bytes / 1e6:.1f} MB), database: "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}\n")
    print("| " + " | ".join(HEADER) + " |\n|" + "---|" * len(HEADER))
    ended = max([s.at - run.started for s in run.load.samples] + [args.minutes * 60 - 1])
    for minute in range(int(ended // 60) + 1):
        print(row(run, minute))
    others = [s for s in run.load.samples if s.kind in MAIL_KINDS and s.code == 250]
    pages = [s for s in run.load.samples if s.kind not in MAIL_KINDS and s.code == 200]
    for name, chosen in (("others' 250", others), ("pages", pages)):
        inside = [s.seconds for s in chosen if _during(s.at, run.windows)]
        outside = [s.seconds for s in chosen if not _during(s.at, run.windows)]
        print(f"\n{name}: while a big message was sent and read, p50 {_ms(inside, .5)} ms, p99 {_ms(inside, .99)} ms, "
              f"max {_ms(inside, 1)} ms ({len(inside)}); otherwise p50 {_ms(outside, .5)} ms, "
              f"p99 {_ms(outside, .99)} ms, max {_ms(outside, 1)} ms ({len(outside)})", end="")
    big_250 = [s.seconds for s in run.big if s.code == 250]
    windows = [end - start for start, end in run.windows]
    print(f"\nthe big messages: {len(big_250)} of {len(run.big)} got 250, in p50 {_ms(big_250, .5)} ms; "
          f"answered p50 {_ms(windows, .5)} ms after their first byte")
    growth, every = floor_slope(run.seen, args.warmup), slope([(f.at / 60, f.rss) for f in run.seen
                                                              if f.at >= args.warmup * 60])
    first, last = run.seen[0], run.seen[-1]
    print(f"RSS {first.rss:.1f} MB at {first.at:.0f} s, {last.rss:.1f} MB at {last.at:.0f} s; after "
          f"{args.warmup:g} minutes' warm-up, each minute's lowest RSS {growth:+.2f} MB a minute (allowed "
          f"{args.max_slope:g}; every sample: {every:+.2f}); open files {first.files}–"
          f"{max(f.files for f in run.seen)}, threads {first.threads}–{max(f.threads for f in run.seen)}")
    return growth


def floor_slope(seen: list[Figures], warmup: float) -> float:
    """MB a minute by which each minute's lowest RSS rises after the warm-up: what the
    process keeps, not the passing peak of a big message being read."""
    lowest: dict[int, float] = {}
    for f in seen:
        if f.at >= warmup * 60:
            minute = int(f.at // 60)
            lowest[minute] = min(lowest.get(minute, f.rss), f.rss)
    return slope([(minute + 0.5, rss) for minute, rss in sorted(lowest.items())])


def growth_sites(folder: Path, warmup: float) -> None:
    snapshots = sorted(folder.glob("*.snapshot"))
    if len(snapshots) < 2:
        return
    first = snapshots[min(len(snapshots) - 2, math.ceil(warmup))]
    print(f"\nallocations that grew most from {first.name} to {snapshots[-1].name}:")
    print("\n".join(compare(first, snapshots[-1])))


async def main() -> int:
    args = parse()
    sys.path.insert(0, str(ROOT))
    from tests.conftest import _create_database, _drop_database

    database = await _create_database(args.database_url) if args.database_url else None
    try:
        run = await soak(args, database or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='cib-soak-db-')}/cib.sqlite3")
    finally:
        if database:
            await _drop_database(args.database_url, database)
    growth = report(run, args)
    if args.tracemalloc is not None:
        growth_sites(args.tracemalloc, args.warmup)
    if growth > args.max_slope:
        print(f"FAIL: RSS grew {growth:.2f} MB a minute after the warm-up, over {args.max_slope:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
