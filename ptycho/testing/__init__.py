"""Testing helpers for ptychopinn artifacts and the pytest harness plugin (``ptycho.testing.plugin``)."""
