"""Seeded simulation of ptychography datasets: objects, probes, scans and Poisson-noisy patterns."""

from ptycho.simulation.objects import make_object
from ptycho.simulation.probes import make_probe
from ptycho.simulation.scans import make_scan
from ptycho.simulation.simulate import SimulationSpec, simulate, simulate_dataset

__all__ = ["SimulationSpec", "make_object", "make_probe", "make_scan", "simulate", "simulate_dataset"]
