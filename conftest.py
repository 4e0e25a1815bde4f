"""Project-wide pytest fixtures live in tests/fixtures.py; this file only loads them."""
pytest_plugins = ["tests.fixtures"]
