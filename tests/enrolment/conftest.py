"""Fixtures for the enrolment tests."""

from moneycheck import fast_passwords  # noqa: F401
