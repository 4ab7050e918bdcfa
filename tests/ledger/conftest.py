"""Fixtures for the ledger tests."""

from moneycheck import fast_passwords  # noqa: F401
