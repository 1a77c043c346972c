"""Shared pytest configuration: the stand-in fixtures of tests/fakes."""

pytest_plugins = ["tests.fakes.fixtures"]
