"""ptychopinn: physics-informed neural network ptychography with TensorFlow and PyTorch engines.

Importing ``ptycho`` is light: NumPy only. The TensorFlow engine (``ptycho.tf``) and the PyTorch
engine (``ptycho_torch``) are imported when a workflow first uses them.
"""

__version__ = "0.1.0"
