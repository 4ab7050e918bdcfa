"""Fixtures for the payments tests."""

from moneycheck import fast_passwords  # noqa: F401
