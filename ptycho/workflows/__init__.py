"""Workflows: the one train/save/load/stitch path of every engine (``models``), the shared steps
(``common``), inference (``inference``), the upstream names (``components``) and dispatch
(``backend_selector``)."""
