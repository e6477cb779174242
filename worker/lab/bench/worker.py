"""The worker as the bench runs it: `valr-monitor run` with persistent sessions (the spec's Phase 2)
and the client-side budgets lifted (the bench compresses time; see bench_env.start_simulator).

`python -m worker.lab.bench.worker --database-url URL --valr-base-url URL --worker-id NAME
[--catch-up S] [--ws-per-minute N] [--requests-per-minute N]`; VALR_API_KEY / VALR_API_SECRET from the environment.
Runs the production Runner unchanged; only the settings differ.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from worker import logs
from worker.config import build_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_worker")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--valr-base-url", required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--catch-up", type=float, default=1.0)
    parser.add_argument("--ws-per-minute", type=int, default=1_000_000)
    parser.add_argument("--requests-per-minute", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    from worker.daemon.rlimit import raise_file_limit  # as `valr-monitor run` does

    raise_file_limit()
    settings = build_settings(
        database_url=args.database_url, valr_base_url=args.valr_base_url, max_session=0.0, socket_wait=10.0,
        log_format="text", worker_id=args.worker_id, catch_up_s=args.catch_up, lease_ttl_s=30,
        ws_connects_per_minute=args.ws_per_minute, requests_per_minute=args.requests_per_minute)
    logs.register_secret(settings.credentials.api_secret)
    logs.setup("text", level=logging.INFO)

    from worker.daemon.runner import Runner

    try:
        return asyncio.run(Runner(settings).run())
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
