"""The portal's pages are Jinja2 (feedesk/portal/jinja2/); its staff pages stay Django templates."""

import datetime
import re

import jinja2
from django.template.backends.django import Template as DjangoTemplate
from django.template.backends.jinja2 import Template as JinjaTemplate
from django.template.loader import get_template
from django.test import Client
from django.utils import translation

from feedesk.portal.jinja2env import environment
from tests.portal.test_views import html


def test_portal_pages_are_jinja2_and_the_staff_pages_stay_django_templates():
    for name in (
        "portal/base.html",
        "portal/home.html",
        "portal/_session_row.html",
        "portal/receipt_print.html",
    ):
        assert isinstance(get_template(name), JinjaTemplate), name
    for name in ("portal/staff/carts_settings.html", "portal/staff/_invite.html", "base.html"):
        assert isinstance(get_template(name), DjangoTemplate), name


def test_a_name_the_view_does_not_pass_prints_nothing_even_with_debug():
    # With DEBUG, Django's backend asks for DebugUndefined, which would print "{{ phone }}".
    env = environment(undefined=jinja2.DebugUndefined)
    assert env.from_string("[{{ phone }}]{% if viewer %}x{% endif %}").render() == "[]"


def test_times_are_shown_in_the_schools_time_zone():
    moment = datetime.datetime(2026, 3, 1, 16, 30, tzinfo=datetime.UTC)
    page = environment().from_string('{{ t|date("Y-m-d H:i") }} {{ t|time("H:i") }} {{ none|date("m-d") }}')
    assert page.render(t=moment, none=None) == "2026-03-02 00:30 00:30 "


def test_day_names_and_sentences_follow_the_language():
    page = environment().from_string('{{ d|date("D") }} {{ _("Order #%(number)s")|format(number=7) }}')
    monday = datetime.date(2026, 3, 2)
    with translation.override("en"):
        assert page.render(d=monday) == "Mon Order #7"
    with translation.override("zh-hans"):
        assert page.render(d=monday) == "星期一 订单 #7"


def test_the_login_page_without_a_signed_in_family(db):
    page = html(Client(HTTP_ACCEPT_LANGUAGE="en").get("/portal/login/?next=/portal/pay/"))
    assert "<title>Sign in · FeeDesk</title>" in page
    assert '<span class="school">Family portal</span>' in page
    assert '<input type="hidden" name="next" value="/portal/pay/">' in page
    assert 'name="csrfmiddlewaretoken"' in page and '<nav class="tabs">' not in page


def test_the_family_pages_in_chinese(family):
    client = family.client()
    client.post("/portal/language/", {"language": "zh-hans", "next": "/portal/"})
    order = family.orders[0]
    assert f"{family.guardian.name}，您好" in html(client.get("/portal/"))
    courses = html(client.get("/portal/courses/"))
    assert f"将订单 #{order.number} 加入购物车" in courses and "剩余 10 课时" in courses
    client.post("/portal/cart/add/", {"order": order.pk, "next": "/portal/pay/"})
    pay = html(client.get("/portal/pay/"))
    assert '<a href="/portal/cart/" class="">购物车<span class="count">1</span></a>' in pay
    cart = html(client.get("/portal/cart/"))
    assert f"<strong>订单 #{order.number}</strong>" in cart and 'class="on">购物车' in cart


def test_the_forms_of_a_page_share_one_csrf_token_that_the_server_takes(family):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(family.user)
    page = html(client.get("/portal/"))
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert len(tokens) >= 4 and len(set(tokens)) == 1
    order = family.orders[0]
    added = client.post("/portal/cart/add/", {"order": order.pk, "csrfmiddlewaretoken": tokens[0]})
    assert added.status_code == 302
    assert f"Order #{order.number} is in your cart." in html(client.get("/portal/cart/"))


def test_every_sentence_of_the_portal_pages_is_in_the_catalogue_where_makemessages_finds_it():
    from pathlib import Path

    from django.conf import settings
    from django.utils.translation import trans_real

    catalogue = trans_real.translation("zh-hans")._catalog  # type: ignore[attr-defined]
    folder = Path(settings.BASE_DIR) / "feedesk" / "portal" / "jinja2"
    sentences = []
    for template in folder.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        # makemessages reads these files as Django templates: it finds {{ _("…") }} and
        # {{ _("…")|filter }}, not Jinja's {% trans %} blocks or gettext() calls.
        assert not re.search(r"{%-?\s*(trans|blocktrans|pluralize)\b|\bn?gettext\(", text), template.name
        sentences += re.findall(r'{{-?\s*_\("([^"]*)"\)', text)
    assert len(sentences) > 80
    assert [s for s in sentences if s not in catalogue] == []


def test_urls_are_kept_by_what_they_depend_on():
    from django.urls import clear_script_prefix, set_script_prefix

    from feedesk.portal.jinja2env import url

    assert url("portal:cart") == "/portal/cart/"
    assert (
        url("portal:receipt", 7) == "/portal/receipts/7/"
        and url("portal:receipt", 8) == "/portal/receipts/8/"
    )
    set_script_prefix("/school/")
    try:
        assert url("portal:cart") == "/school/portal/cart/"
    finally:
        clear_script_prefix()
    assert url("portal:cart") == "/portal/cart/"
