"""`valr-monitor sim`: the simulator as a process (test credentials from flags or the environment)."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, type=int, help="0 = any free port (printed when ready).")
@click.option("--api-key", envvar="VALR_API_KEY", default="sim-key", show_default=True,
              help="Test API key (env VALR_API_KEY).")
@click.option("--api-secret", envvar="VALR_API_SECRET", default="sim-secret",
              help="Test API secret (env VALR_API_SECRET; never printed).")
@click.option("--mode", type=click.Choice(["auto", "manual", "market"]), default="auto", show_default=True)
@click.option("--fill-delay", type=float, default=1.0, show_default=True, help="auto: seconds per fill")
@click.option("--cancel-fraction", type=float, default=0.05, show_default=True)
@click.option("--expire-fraction", type=float, default=0.02, show_default=True)
@click.option("--fail-fraction", type=float, default=0.03, show_default=True)
@click.option("--seed", type=int, default=None)
@click.option("--no-limits", is_flag=True, help="Lift the WS-connect and REST budgets (benchmarks).")
@click.option("--stamp-frames", is_flag=True, help="Log every frame's send time (GET /_sim/frames).")
@click.option("-v", "--verbose", is_flag=True, help="Also log every REST request.")
def sim(host: str, port: int, api_key: str, api_secret: str, mode: str, fill_delay: float,
        cancel_fraction: float, expire_fraction: float, fail_fraction: float, seed: int | None,
        no_limits: bool, stamp_frames: bool, verbose: bool) -> None:
    """Run a local VALR simulator: REST, /ws/account and the /_sim/ admin API on one port."""
    import asyncio
    import logging

    from worker.lab.sim.config import SimConfig
    from worker.lab.sim.server import Simulator

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)-5s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    config = SimConfig(mode=mode, fill_delay_s=fill_delay, cancel_fraction=cancel_fraction,
                       expire_fraction=expire_fraction, fail_fraction=fail_fraction, seed=seed,
                       enforce_limits=not no_limits, stamp_frames=stamp_frames)

    async def serve() -> None:
        simulator = Simulator(api_key, api_secret, config=config)
        url = await simulator.start(host, port)
        click.echo(f"VALR simulator ready at {url}  (ws: {url.replace('http', 'ws', 1)}/ws/account, "
                   f"admin: {url}/_sim/truth, api key {api_key!r}, mode {mode})", err=False)
        try:
            await asyncio.Event().wait()
        finally:
            await simulator.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        click.echo("simulator stopped")
