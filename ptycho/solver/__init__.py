"""Classic iterative ptychography (ePIE, rPIE) and Poisson-likelihood refinement, in NumPy, on the
project's forward model. Backend-neutral: importing it imports neither TensorFlow nor torch."""

from ptycho.solver.pie import ALGORITHMS, Scan, Solution, data_fit, solve
from ptycho.solver.workflow import Estimate, frame_for, reconstruct_iterative, refine, scan_of

__all__ = [
    "ALGORITHMS",
    "Estimate",
    "Scan",
    "Solution",
    "data_fit",
    "frame_for",
    "reconstruct_iterative",
    "refine",
    "scan_of",
    "solve",
]
