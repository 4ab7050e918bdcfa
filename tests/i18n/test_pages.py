"""The newest pages render in Chinese for a Chinese browser, inside the desk layout."""

import pytest
from django.urls import reverse

from feedesk.gateways.models import ClientKind, GatewayKind
from feedesk.gateways.services import save_gateway_config, start_online_payment
from feedesk.payments.services import AllocationRequest
from tests.attendance.conftest import Hours
from tests.gateways.conftest import online_order

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_roll_call_page_is_in_chinese(client, school):
    hours = Hours(school)
    hours.enrol(name="李小明")
    session = hours.session()
    client.force_login(school.instructor)
    page = client.get(reverse("attendance:session", args=[session.pk]), **ZH).content.decode()
    assert "李小明" in page
    for text in ("点名", "出勤", "缺勤", "请假", "剩余课时", "保存考勤", "病假"):
        assert text in page, text
    assert "Roll call" not in page and "Save attendance" not in page
    assert 'href="/static/desk/desk.css"' in page or "desk/desk.css" in page


def test_sessions_and_reasons_pages_are_in_chinese(client, school):
    Hours(school).session()
    client.force_login(school.principal)
    sessions = client.get(reverse("attendance:sessions"), **ZH).content.decode()
    assert "课节" in sessions and "续费预警" in sessions and "全部班级" in sessions
    reasons = client.get(reverse("attendance:reasons"), **ZH).content.decode()
    assert "缺勤原因" in reasons and "考勤设置" in reasons and "停课日" in reasons


def test_simulated_pay_page_is_in_chinese_without_staff_navigation(client, school):
    # The provider cannot be reached (tests' site address, see conftest), so the return page waits.
    save_gateway_config(actor=school.principal, active=GatewayKind.SIMULATED)
    student = school.student()
    order = online_order(school, student, 88_00)
    online, action = start_online_payment(
        student=student, allocations=[AllocationRequest(order.pk, 88_00)], client=ClientKind.PHONE
    )
    page = client.get(action.url, **ZH).content.decode()
    assert "模拟支付服务" in page and "订单号" in page and "模拟付款失败" in page
    assert f"向{school.org.name}付款" in page
    assert "desk/desk.css" in page and 'name="viewport"' in page
    assert reverse("desk:students") not in page  # a parent sees no staff menu
    result = client.get(reverse("gateways:return", args=[online.out_trade_no]), **ZH).content.decode()
    assert "等待确认" in result


def test_gateway_settings_page_is_in_chinese_within_the_staff_menu(client, school):
    client.force_login(school.principal)
    page = client.get(reverse("gateways:settings"), **ZH).content.decode()
    assert "在线支付设置" in page and "启用的支付通道" in page and "微信支付商户号" in page
    assert reverse("desk:students") in page and "desk/desk.css" in page
