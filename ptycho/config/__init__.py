"""Configuration dataclasses (see :mod:`ptycho.config.config`)."""
