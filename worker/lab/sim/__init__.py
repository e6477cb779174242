"""A local VALR: REST + /ws/account on one aiohttp port, a matching model, fault injection, and the
exchange's ground truth under /_sim/."""

from worker.lab.sim.shapes import SimError
from worker.lab.sim.config import SimConfig
from worker.lab.sim.server import Simulator
from worker.lab.sim.thread import SimulatorThread

__all__ = ["Simulator", "SimulatorThread", "SimConfig", "SimError"]
