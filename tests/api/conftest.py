import pytest
from api_helpers import ApiClient


@pytest.fixture
def cashier_api(school):
    return ApiClient(school.cashier)


@pytest.fixture
def principal_api(school):
    return ApiClient(school.principal)
