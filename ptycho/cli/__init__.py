"""The ``ptycho`` command line."""
