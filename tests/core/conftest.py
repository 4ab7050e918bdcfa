"""Fixtures for the core tests."""

from moneycheck import fast_passwords  # noqa: F401
