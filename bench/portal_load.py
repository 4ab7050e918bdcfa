"""Portal load benchmark: 200 guardians sign in, open Upcoming Courses, fill a cart, check out and pay.

Runs gunicorn on PostgreSQL in its own database (fd_bench_portal, created and dropped here),
drives it over HTTP with a pool of client threads, then checks nothing was lost or posted twice
and runs the ledger verification. Last, the same clients ask the same server for `/healthz`, a
request that does nothing: the floor under each request of a journey. It skips the browser
middleware (sessions, CSRF, messages) that the portal's pages go through, so that middleware is
part of what a page costs above it. Prints a summary, rewrites its section of docs/benchmarks.md
and, last, prints one line of JSON.

    .venv/bin/python bench/portal_load.py [--guardians 200] [--clients 8] [--workers 3] [--threads 1]
                                          [--worker-class sync|gthread] [--floor-requests 2000]
"""

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlparse

import cpu
from docs_section import write_section
from pgserver import connection_kind, server_url
from workers import describe_workers, worker_class

ROOT = Path(__file__).resolve().parent.parent
PG = server_url()
DB = "fd_bench_portal"
PASSWORD = "bench-pass-2026"
PORT_RANGE = range(8521, 8541)
SECTION = "## Parent portal load: the latest run (`bench/portal_load.py`)"


def free_port(after: int = 0) -> int:
    for port in PORT_RANGE:
        if port <= after:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port in 8521-8540")


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(statement)


# -- the school ---------------------------------------------------------------------------------
def seed(guardians: int) -> list[dict]:
    """A school with `guardians` families of two children, each owing a payable-online order."""
    import datetime
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password

    from feedesk.catalog.services import create_class, create_course, create_subject
    from feedesk.core.permissions import Role
    from feedesk.enrolment.services import enrol_student
    from feedesk.gateways.services import save_gateway_config
    from feedesk.organizations.services import create_campus, create_organization
    from feedesk.people.services import create_guardian, create_student
    from feedesk.portal.services import invite_guardian, update_portal_settings
    from feedesk.users.models import User

    org = create_organization(name="压测培训学校", slug="bench")
    campus = create_campus(organization=org, name="总部", code="hq")
    principal = User.objects.create_user(
        "bench-principal", password=None, organization=org, role=Role.PRINCIPAL
    )
    subject = create_subject(actor=principal, code="math", name="数学", name_en="Maths")
    course = create_course(
        actor=principal, subject=subject, name="数学课", price_model="per_lesson", lesson_price=15_000
    )
    classes = [
        create_class(
            actor=principal,
            course=course,
            campus=campus,
            name=f"数学{i}班",
            instructor=principal,
            capacity=1000,
            start_date=datetime.date(2026, 9, 1),
            end_date=datetime.date(2027, 1, 31),
            schedule=[(i % 7, datetime.time(9), datetime.time(10, 30))],
        )
        for i in range(4)
    ]
    update_portal_settings(actor=principal, carts_enabled=True, allow_partial=False)
    save_gateway_config(actor=principal, active="simulated")
    families = []
    for n in range(guardians):
        phone = f"137{n:08d}"
        guardian = create_guardian(actor=principal, name=f"家长{n}", phone=phone)
        for k in range(2):
            child = create_student(
                actor=principal, campus=campus, name=f"学员{n}-{k}", guardians=[(guardian, "mother")]
            )
            enrol_student(
                actor=principal,
                student=child,
                class_group=classes[(n + k) % len(classes)],
                hours=Decimal(10),
                online_payable=True,
            )
        invite_guardian(actor=principal, guardian=guardian)
        families.append({"phone": phone})
    # One hash for everyone: 200 password hashings would only measure the seeding machine.
    User.objects.filter(guardian__organization=org).update(password=make_password(PASSWORD))
    return families


# -- a tiny HTTP client with cookies and CSRF ----------------------------------------------------
class Browser:
    def __init__(self, base: str, timings: dict, errors: list) -> None:
        url = urlparse(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.timings = timings
        self.errors = errors

    def request(self, step: str, method: str, path: str, form: dict | None = None, expect=(200, 302)):
        headers = {"Accept-Language": "en", "Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                content = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt:
                    raise
        elapsed = time.perf_counter() - started
        self.timings[step].append(elapsed)
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if response.status not in expect:
            self.errors.append(f"{step}: HTTP {response.status} {path}")
        location = response.getheader("Location", "")
        return response.status, location, content


def sign_in(base: str, family: dict, timings: dict, errors: list) -> "Browser | None":
    b = Browser(base, timings, errors)
    b.request("login_page", "GET", "/portal/login/")
    status, _, _ = b.request(
        "login", "POST", "/portal/login/", {"phone": family["phone"], "password": PASSWORD}
    )
    if status != 302:
        errors.append(f"login refused for {family['phone']}")
        return None
    return b


def journey(b: "Browser | None") -> bool:
    """Upcoming Courses → both children's orders into the cart → one checkout → simulated pay → receipt."""
    if b is None:
        return False
    errors = b.errors
    _, _, page = b.request("courses", "GET", "/portal/courses/")
    orders = re.findall(r'name="order" value="(\d+)"', page)
    if not orders:
        for student in re.findall(r'<option value="(\d+)"', page):
            b.request(
                "switch_child", "POST", "/portal/child/", {"student": student, "next": "/portal/courses/"}
            )
            _, _, page = b.request("courses", "GET", "/portal/courses/")
            orders += re.findall(r'name="order" value="(\d+)"', page)
    # Both children's orders: one from each child's Upcoming Courses.
    _, _, pay_page = b.request("pay_page", "GET", "/portal/pay/")
    orders = sorted(set(orders) | set(re.findall(r'name="order" value="(\d+)"', pay_page)))
    for order in orders:
        b.request("add_to_cart", "POST", "/portal/cart/add/", {"order": order, "next": "/portal/pay/"})
    _, _, cart = b.request("cart", "GET", "/portal/cart/")
    total = re.search(r'name="total" value="(\d+)"', cart)
    status, location, _ = b.request(
        "checkout", "POST", "/portal/cart/checkout/", {"total": total.group(1) if total else ""}
    )
    if status != 302 or "/gateways/sim/pay/" not in location:
        errors.append(f"checkout did not reach the pay page: {status} {location}")
        return False
    pay_path = urlparse(location).path
    b.request("sim_pay_page", "GET", pay_path)
    b.request("sim_callback", "POST", pay_path, {"action": "pay"})
    status, location, _ = b.request("return", "GET", "/portal/cart/return/")
    if status != 302 or "/portal/receipts/" not in location:
        errors.append(f"no receipt after paying: {status} {location}")
        return False
    b.request("receipt", "GET", urlparse(location).path)
    return True


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def report_section(summary: dict) -> str:
    """The run's figures as the Markdown section that each run rewrites in docs/benchmarks.md."""
    spent, floor = summary["cpu_ms_per_checkout"], summary["floor"]["cpu_ms_per_request"]
    signing_in = summary["cpu_ms_per_sign_in"]
    steps = ", ".join(f"{step} {ms}" for step, ms in summary["p99_ms"].items())
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    workers = describe_workers(summary["gunicorn_worker_class"], summary["gunicorn_threads"])
    rows = [
        (
            "completed checkouts",
            f"{summary['completed_checkouts']} of {summary['guardians']}, "
            f"{summary['errors']} errors in {summary['requests']} requests",
            "",
        ),
        (
            "checkouts/s (the checkout phase, guardians signed in)",
            f"**{summary['checkouts_per_second']}**",
            "≥ 50",
        ),
        ("sign-ins/s (Argon2id, its own phase)", str(summary["logins_per_second"]), ""),
        ("end to end, sign-in included", f"{summary['end_to_end_checkouts_per_second']}/s", ""),
        ("p99 of page views", f"**{summary['p99_page_view_ms']} ms**", "< 300 ms"),
        ("p99 per step, ms", steps, ""),
        (
            "lost / duplicated payments; orders paid twice",
            f"**{summary['lost_payments']} / {summary['duplicated_payments']}**; "
            f"{summary['orders_paid_by_two_payments']}",
            "0",
        ),
        (
            "`verify_ledger`",
            f"{'ok' if summary['ledger_ok'] else 'FAILED'} ({summary['ledger_entries_checked']} entries)",
            "ok",
        ),
        (
            "CPU ms per checkout: app, provider, PostgreSQL, client",
            f"{spent.get('app')}, {spent.get('provider')}, {spent.get('postgres')}, {spent.get('client')} "
            f"({summary['requests_per_checkout']} requests)",
            "",
        ),
        (
            "CPU ms per sign-in: app, PostgreSQL, client",
            f"{signing_in.get('app')}, {signing_in.get('postgres')}, {signing_in.get('client')}",
            "",
        ),
        (
            "floor: `/healthz` through the same clients",
            f"{summary['floor']['requests_per_second']}/s; {floor.get('app')} ms app, "
            f"{floor.get('client')} ms client per request",
            "",
        ),
    ]
    return "\n".join(
        [
            SECTION,
            "",
            f"{summary['guardians']} guardians, {summary['clients']} client threads, gunicorn with "
            f"{summary['gunicorn_workers']} {workers} on PostgreSQL",
            f"(through a {summary['postgres_connection']}), the simulated provider as its own gunicorn "
            f"process. Measured {measured} on {os.cpu_count()} cores;",
            f"1-minute load average {os.getloadavg()[0]:.1f} at the end.",
            "Each run rewrites this section; the sections after it keep earlier runs and what changed.",
            "",
            "| figure | measured | target |",
            "|---|---|---|",
            *(f"| {name} | {value} | {target} |" for name, value, target in rows),
            "",
            "Targets (≥ 50 checkouts/s, page-view p99 < 300 ms, nothing lost or duplicated): "
            + ("met." if summary["targets_met"] else "not met."),
            "",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guardians", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    # More than one, or --worker-class gthread: workers that keep a guardian's connection open.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--floor-requests", type=int, default=2000)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The simulated provider runs as its own server, as WeChat Pay would: the app queries it over
    # HTTP when a payer returns before the notification, and must not wait on its own workers for
    # that. On this journey the pay page notifies first, so the provider's CPU stays near zero.
    provider_port = free_port(after=port)
    provider = f"http://127.0.0.1:{provider_port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        "FEEDESK_DEBUG": "0",
        "FEEDESK_SECURE_COOKIES": "0",
        "FEEDESK_ALLOW_SIMULATED_GATEWAY": "1",
        "FEEDESK_SITE_URL": base,
        "FEEDESK_SIM_WECHAT_API_URL": f"{provider}/gateways/sim",
        "FEEDESK_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FEEDESK_CONN_MAX_AGE": "600",
        "FEEDESK_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
    }
    admin_sql(f"DROP DATABASE IF EXISTS {DB}")
    admin_sql(f"CREATE DATABASE {DB}")
    servers: list[subprocess.Popen] = []
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        started = time.perf_counter()
        families = seed(args.guardians)
        seed_seconds = time.perf_counter() - started
        from django.db import connections

        connections.close_all()

        def gunicorn(bind_port: int, workers: int, threads: int = 1, kind: str = "sync") -> subprocess.Popen:
            process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "config.wsgi",
                    "-b",
                    f"127.0.0.1:{bind_port}",
                    "-w",
                    str(workers),
                    "--log-level",
                    "warning",
                    "--timeout",
                    "60",
                    "-k",
                    kind,
                    "--threads",
                    str(threads),
                ],
                cwd=ROOT,
                env=env,
            )
            servers.append(process)
            # The master listens before its workers have loaded the app: wait until pages are
            # answered, and give every worker a few, so the first guardians do not time start-up.
            answered = 0
            deadline = time.monotonic() + 60
            while answered < 4 * workers and time.monotonic() < deadline:
                try:
                    probe = http.client.HTTPConnection("127.0.0.1", bind_port, timeout=10)
                    probe.request("GET", "/portal/login/")
                    answered += probe.getresponse().status == 200
                    probe.close()
                except OSError:
                    time.sleep(0.1)
            return process

        app = gunicorn(port, args.workers, args.threads, args.worker_class)
        simulated_provider = gunicorn(provider_port, 1)
        servers_by_name = {"app": app.pid, "provider": simulated_provider.pid}

        timings: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        # Signing in checks an Argon2id hash (about 20 ms of CPU by design): timed as its own phase.
        started = time.perf_counter()
        login_cpu_before = cpu.snapshot(servers_by_name, database=DB)
        with ThreadPoolExecutor(args.clients) as pool:
            browsers = list(pool.map(lambda f: sign_in(base, f, timings, errors), families))
        login_wall = time.perf_counter() - started
        login_cpu = cpu.used(login_cpu_before, cpu.snapshot(servers_by_name, database=DB))
        started = time.perf_counter()
        cpu_before = cpu.snapshot(servers_by_name, database=DB)
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(journey, browsers))
        wall = time.perf_counter() - started
        checkout_cpu = cpu.used(cpu_before, cpu.snapshot(servers_by_name, database=DB))
        completed = sum(results)
        journey_requests = sum(len(v) for step, v in timings.items() if step not in ("login_page", "login"))

        # The floor under each of those requests: the same server and clients, a request that does
        # nothing (down the stateless stack, so below the pages' own middleware).
        floor_timings: dict[str, list[float]] = defaultdict(list)
        floor_per_client = max(1, args.floor_requests // args.clients)

        def floor(_: int) -> None:
            b = Browser(base, floor_timings, errors)
            for _n in range(floor_per_client):
                b.request("healthz", "GET", "/healthz", expect=(200,))

        floor_before = cpu.snapshot(servers_by_name, database=DB)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(floor, range(args.clients)))
        floor_wall = time.perf_counter() - started
        floor_cpu = cpu.used(floor_before, cpu.snapshot(servers_by_name, database=DB))
        floor_count = len(floor_timings["healthz"])

        from django.db.models import Count

        from feedesk.gateways.models import OnlinePayment
        from feedesk.ledger.selectors import verify_ledger
        from feedesk.payments.models import Allocation, Payment

        online_ok = OnlinePayment.objects.filter(status="succeeded").count()
        payments = Payment.objects.filter(channel="online").count()
        duplicated = (
            OnlinePayment.objects.values("payment_id")
            .exclude(payment_id=None)
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .count()
        )
        over = (
            Allocation.objects.values("order_id")
            .annotate(n=Count("payment_id", distinct=True))
            .filter(n__gt=1)
            .count()
        )
        report = verify_ledger()
        lost = completed - payments

        page_steps = ["login_page", "courses", "pay_page", "cart", "sim_pay_page", "receipt"]
        checkout_steps = sum(timings["checkout"]) + sum(timings["sim_callback"]) + sum(timings["add_to_cart"])
        summary = {
            "benchmark": "portal_load",
            "guardians": args.guardians,
            "clients": args.clients,
            "gunicorn_workers": args.workers,
            "gunicorn_threads": args.threads,
            "gunicorn_worker_class": worker_class(args.worker_class, args.threads),
            "completed_checkouts": completed,
            "login_phase_seconds": round(login_wall, 2),
            "logins_per_second": round(len(families) / login_wall, 1) if login_wall else 0,
            "checkout_phase_seconds": round(wall, 2),
            "checkouts_per_second": round(completed / wall, 1) if wall else 0,
            "end_to_end_checkouts_per_second": round(completed / (wall + login_wall), 1),
            "p99_ms": {step: round(p99(v) * 1000, 1) for step, v in sorted(timings.items())},
            "p99_page_view_ms": round(p99([t for s in page_steps for t in timings[s]]) * 1000, 1),
            "requests": sum(len(v) for v in timings.values()),
            "errors": len(errors),
            "online_payments_succeeded": online_ok,
            "online_receipts": payments,
            "lost_payments": lost,
            "duplicated_payments": duplicated,
            "orders_paid_by_two_payments": over,
            "ledger_ok": report.ok,
            "ledger_entries_checked": report.entries_checked,
            "seed_seconds": round(seed_seconds, 1),
            "server_seconds_in_checkout_steps": round(checkout_steps, 2),
            "checkout_phase_cpu_seconds": checkout_cpu,
            "cpu_ms_per_checkout": {
                name: round(seconds * 1000 / completed, 1) for name, seconds in checkout_cpu.items()
            }
            if completed
            else {},
            "cpu_ms_per_sign_in": {
                name: round(seconds * 1000 / len(families), 1) for name, seconds in login_cpu.items()
            },
            "requests_per_checkout": round(journey_requests / completed, 1) if completed else 0,
            "postgres_connection": connection_kind(PG),
            "floor": {
                "requests": floor_count,
                "requests_per_second": round(floor_count / floor_wall, 1) if floor_wall else 0,
                "cpu_ms_per_request": {
                    name: round(seconds * 1000 / floor_count, 2) for name, seconds in floor_cpu.items()
                },
            },
        }
        for error in errors[:10]:
            print("error:", error)
        for step, values in sorted(timings.items()):
            median, tail = statistics.median(values) * 1000, p99(values) * 1000
            print(f"{step:>14}: n={len(values):4d} median={median:7.1f} ms  p99={tail:7.1f} ms")
        summary["targets_met"] = (
            summary["checkouts_per_second"] >= 50
            and summary["p99_page_view_ms"] < 300
            and completed == args.guardians
            and not errors
            and lost == 0
            and duplicated == 0
            and over == 0
            and report.ok
        )
        write_section(SECTION, report_section(summary))
        print(json.dumps(summary, ensure_ascii=False))
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
