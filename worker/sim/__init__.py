"""A local VALR: REST + /ws/account on one aiohttp port, a matching model, fault injection, and the
exchange's ground truth under /_sim/."""

from worker.sim.book import SimError
from worker.sim.config import SimConfig
from worker.sim.server import Simulator
from worker.sim.thread import SimulatorThread

__all__ = ["Simulator", "SimulatorThread", "SimConfig", "SimError"]
