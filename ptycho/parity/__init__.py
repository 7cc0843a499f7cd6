"""Evidence that the TensorFlow and PyTorch engines compute the same thing.

Every parity check is declared once (:mod:`ptycho.parity.registry`) and used twice: the pytest suite
``tests/parity`` asserts each one, and ``ptycho parity`` prints them all as a table (name, measured error,
tolerance, pass/fail) and writes them as JSON. Declaring a check imports no engine; running it does.
"""

from ptycho.parity.result import Check, Result, relative_error

__all__ = ["Check", "Result", "relative_error"]
