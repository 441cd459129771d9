"""``python -m api.held_server --data-dir D --http HOST:PORT``: a web node as ``nuage serve --no-sip``
runs it, whose API-2 limiter holds granted requests while the file ``D/hold`` exists (the test makes
concurrent requests overlap on a real server, across processes, without a clock)."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from api.holding import HoldingLimiter
from nuage.api.app import default_limiter
from nuage.bootstrap import build_platform
from nuage.config import load_settings, parse_host_port
from nuage.web.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--http", required=True)
    args = parser.parse_args()
    settings = load_settings(data_dir=args.data_dir)
    host, port = parse_host_port(args.http)
    platform = build_platform(settings, migrate=True)
    hold = args.data_dir / "hold"
    limiter = HoldingLimiter(default_limiter(settings.api), holding=hold.exists)
    try:
        uvicorn.run(create_app(platform, limiter=limiter), host=host, port=port, log_level="warning")
    finally:
        platform.close()


if __name__ == "__main__":
    main()
