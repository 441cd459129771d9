"""A longer mutation-fuzz run against a Nuage SIP server in its own process, reporting its RSS.

    .venv/bin/python bench/sip/fuzz.py --count 100000 [--seed 20]

Starts bench/sip/nuage_lab.py (UDP, no rate limit), sends ``count`` mutated requests (the
generator of tests/sip/fuzzing.py) in batches, each batch closed by an OPTIONS marker whose answer
shows the server read it, and prints the server's RSS before and after, the answers by status,
and how many 500s came back (there must be none). A server that keeps state for requests it
cannot answer shows here as RSS growing with the count.
"""

from __future__ import annotations

import argparse
import collections
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from sip.fuzzing import mutate, templates  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(count: int, seed: int, batch: int) -> int:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "sip" / "nuage_lab.py"),
            "--port",
            str(port),
            "--bob-port",
            "9",
            "--max-auth-failures",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            print("the server did not start", file=sys.stderr)
            return 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        corpus = templates(port, sock.getsockname()[1])
        rng = random.Random(seed)
        statuses: collections.Counter[int] = collections.Counter()
        rss_before = _rss_mb(server.pid)
        started = time.monotonic()
        for serial in range(count):
            data = mutate(rng.choice(corpus), rng, serial)
            if len(data) < 65000:
                sock.sendto(data, ("127.0.0.1", port))
            if serial % batch == batch - 1 or serial == count - 1:
                mark = f"mark-{serial}".encode()
                marker = corpus[2].replace(b"fuzz-2", mark).replace(b"z9hG4bKfz", b"z9hG4bK" + mark)
                sock.sendto(marker, ("127.0.0.1", port))
                while True:  # read answers until the marker's
                    try:
                        answer = sock.recv(65535)
                    except TimeoutError:
                        print(f"no answer to the marker after message {serial}", file=sys.stderr)
                        return 1
                    if mark in answer:
                        break
                    if answer.startswith(b"SIP/2.0 "):
                        statuses[int(answer[8:11])] += 1
        elapsed = time.monotonic() - started
        rss_after = _rss_mb(server.pid)
        print(f"messages={count} seed={seed} seconds={elapsed:.1f}")
        print(f"rss_before_mb={rss_before:.1f} rss_after_mb={rss_after:.1f}")
        print("answers=" + ", ".join(f"{status}:{n}" for status, n in sorted(statuses.items())))
        print(f"status_500={statuses[500]}")
        return 1 if statuses[500] else 0
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    sys.exit(main(args.count, args.seed, args.batch))
