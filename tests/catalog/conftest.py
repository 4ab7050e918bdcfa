"""Fixtures for the catalog tests."""

from moneycheck import fast_passwords  # noqa: F401
