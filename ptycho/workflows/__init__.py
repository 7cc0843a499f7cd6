"""Workflows: the upstream API of each engine (``components``) and backend dispatch (``backend_selector``)."""
