import pytest
from api_helpers import ApiClient, RollCall


@pytest.fixture
def cashier_api(school):
    return ApiClient(school.cashier)


@pytest.fixture
def principal_api(school):
    return ApiClient(school.principal)


@pytest.fixture
def roll(school):
    return RollCall(school)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The school fixture creates a dozen staff users; slow password hashing is not what is tested here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
