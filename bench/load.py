"""Load test of `whosthat serve`: many concurrent clients posting real photos for a bounded time.

Starts `whosthat serve MODEL --port 0` as a subprocess on loopback, waits for /healthz, warms it
up with the same load for `--warm-up` seconds (not counted), then drives POST /v1/predict with
`--clients` concurrent clients (one httpx connection each) for `--seconds`, each posting blackpink
photos in turn. Prints one markdown table row: requests, requests per second, p50 / p99
latency, errors (any answer other than 200, or a failed connection) and the server's resident
memory (VmRSS) after the warm-up and after the run.

    .venv/bin/python bench/load.py --clients 20 --seconds 30
    .venv/bin/python bench/load.py --model out/model.wt --worker-threads 4

Without `--model`, a FaceNet model is first trained on 20 photos per member of
../shared/datasets/blackpink/photos (symlinks in a temporary folder), which takes a minute or two.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import httpx

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PHOTOS = DATASETS / "blackpink" / "photos"
#: Photos per member trained on (without --model) and posted by the clients.
PER_MEMBER = 20


@dataclass
class Tally:
    """What the clients saw."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def member_photos(root: Path, per_member: int) -> dict[str, list[Path]]:
    """The first photos of each member's folder, sorted."""
    return {folder.name: sorted(p for p in folder.iterdir() if p.is_file())[:per_member]
            for folder in sorted(root.iterdir()) if folder.is_dir()}


def train_small_model(directory: Path) -> Path:
    """A FaceNet model on PER_MEMBER photos per member (symlinks, nothing copied)."""
    import whosthat

    for member, paths in member_photos(PHOTOS, PER_MEMBER).items():
        (directory / "photos" / member).mkdir(parents=True)
        for path in paths:
            (directory / "photos" / member / path.name).symlink_to(path)
    out = directory / "model.wt"
    print(f"training a FaceNet model on {PER_MEMBER} photos per member of {PHOTOS} ...", file=sys.stderr)
    whosthat.train(directory / "photos", out=out, embedder="facenet", test_fraction=0.0)
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc/<pid>/status."""
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(match[1]) / 1024 if match else float("nan")


class Service:
    """`whosthat serve` in a subprocess on a free loopback port; its stderr is drained in a thread."""

    def __init__(self, model: Path, worker_threads: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "whosthat.cli", "serve", str(model), "--port", "0",
             "--worker-threads", str(worker_threads)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        first = self.process.stderr.readline()
        found = re.search(r"at (http://\S+/)", first)
        if not found:
            self.stop()
            raise SystemExit(f"whosthat serve did not start: {first.strip()}")
        self.url = found[1]
        self.log: list[str] = []
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True).start()

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("whosthat serve stopped:\n" + "".join(self.log))
            try:
                if httpx.get(self.url + "healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise SystemExit(f"whosthat serve did not answer /healthz within {timeout:.0f} s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


async def drive(url: str, photos: list[bytes], clients: int, seconds: float) -> Tally:
    """`clients` concurrent clients posting photos in turn until `seconds` have passed (one each at least)."""
    tally = Tally()
    deadline = time.monotonic() + seconds

    async def client(number: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            turn = number
            while turn == number or time.monotonic() < deadline:  # at least one request each
                photo = photos[turn % len(photos)]
                turn += clients
                started = time.perf_counter()
                try:
                    response = await http.post("v1/predict", files={"file": ("photo.jpg", photo, "image/jpeg")})
                except httpx.HTTPError as error:
                    tally.errors.append(f"{type(error).__name__}: {error}")
                    continue
                tally.latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    tally.errors.append(f"{response.status_code}: {response.text[:200]}")

    await asyncio.gather(*(client(n) for n in range(clients)))
    return tally


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else float("nan")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default: 20)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long they post (default: 30)")
    parser.add_argument("--model", type=Path, help="model file (default: train a small one first)")
    parser.add_argument("--warm-up", type=float, default=5.0, metavar="SECONDS",
                        help="load before the first memory reading, not counted (default: 5)")
    parser.add_argument("--worker-threads", type=int, default=2, help="the service's --worker-threads (default: 2)")
    args = parser.parse_args(argv)
    photos = [p.read_bytes() for paths in member_photos(PHOTOS, PER_MEMBER).values() for p in paths]
    with tempfile.TemporaryDirectory(prefix="whosthat-load-") as scratch:
        model = args.model or train_small_model(Path(scratch))
        service = Service(model, args.worker_threads)
        try:
            service.wait_ready()
            warm_up = asyncio.run(drive(service.url, photos, args.clients, args.warm_up))
            before = rss_mb(service.process.pid)
            tally = asyncio.run(drive(service.url, photos, args.clients, args.seconds))
            after = rss_mb(service.process.pid)
        finally:
            service.stop()
    latencies = sorted(tally.latencies)
    print(f"whosthat serve {model} (--worker-threads {args.worker_threads}), {len(photos)} blackpink photos "
          f"posted in turn; warm-up: {len(warm_up.latencies)} requests in {args.warm_up:g} s\n")
    print("| clients | seconds | requests | req/s | p50 ms | p99 ms | errors | server RSS MB before | after |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {args.clients} | {args.seconds:g} | {len(latencies)} | {len(latencies) / args.seconds:.1f} "
          f"| {1000 * percentile(latencies, 50):.0f} | {1000 * percentile(latencies, 99):.0f} | {len(tally.errors)} "
          f"| {before:.0f} | {after:.0f} |")
    for error in tally.errors[:5]:
        print(f"error: {error}", file=sys.stderr)
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
