"""Fixtures for the people tests."""

from moneycheck import fast_passwords  # noqa: F401
