import re

from django.test import Client

from feedesk.demo.services import load_demo


def test_demo_guardian_signs_in_and_sees_both_children_owing(db):
    load_demo(students=24)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/portal/login/", {"phone": "13800000001", "password": "demo-pass-2026"})
    assert response.status_code == 302
    page = client.get("/portal/").content.decode()
    assert page.count("<h2>") >= 2 and page.count("Owed") >= 2
    assert "Add to Cart" in client.get("/portal/pay/").content.decode()


def test_the_demo_family_pays_its_cart_with_the_simulated_gateway(db):
    from feedesk.payments.models import Payment

    load_demo(students=24)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/portal/login/", {"phone": "13800000001", "password": "demo-pass-2026"})
    order = re.search(r'name="order" value="(\d+)"', client.get("/portal/pay/").content.decode())
    assert order is not None
    client.post("/portal/cart/add/", {"order": order.group(1)})
    total = re.search(r'name="total" value="(\d+)"', client.get("/portal/cart/").content.decode())
    assert total is not None
    pay_page = client.post("/portal/cart/checkout/", {"total": total.group(1)})["Location"]
    assert "/gateways/sim/pay/" in pay_page
    before = Payment.objects.count()
    client.post(pay_page, {"action": "pay"})
    receipt = client.get("/portal/cart/return/")["Location"]
    assert receipt.startswith("/portal/receipts/") and Payment.objects.count() == before + 1
