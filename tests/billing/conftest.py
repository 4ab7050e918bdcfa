"""Fixtures for the billing tests."""

from moneycheck import fast_passwords  # noqa: F401
