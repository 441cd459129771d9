"""Open-loop load at a fixed rate (wrk2-style): one request every 1/rate s; its own process.

python bench/api/rate.py URL --rate 200 --duration 10 [--header 'Authorization: Bearer ...']
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx


async def _run(url: str, rate: float, duration: float, headers: dict[str, str]) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(headers=headers, timeout=10) as http:
        await http.get(url)  # warm the connection

        async def one() -> None:
            started = time.perf_counter()
            try:
                status = (await http.get(url)).status_code
            except httpx.HTTPError:  # counted as a failure (status 0), with the time it took to fail
                status = 0
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

        tasks = []
        begin = time.perf_counter()
        total = int(rate * duration)
        for index in range(total):
            delay = begin + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "achieved_rps": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "max_ms": round(ordered[-1], 2),
        "non_2xx": sum(n for s, n in statuses.items() if not 200 <= s < 300),
        "failed": statuses.get(0, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    print(json.dumps(asyncio.run(_run(args.url, args.rate, args.duration, headers))))


if __name__ == "__main__":
    main()
