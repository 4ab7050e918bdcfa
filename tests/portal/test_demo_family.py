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
