"""Load benchmark of the JSON API: gunicorn (4 workers) on PostgreSQL, driven by wrk from another process.

Creates its own database `fd_bench_api`, seeds schools, serves the app on 127.0.0.1, drives
`POST /payments` (each request with its own Idempotency-Key) and then `GET /students/{id}/account`,
runs `ledger_verify`, writes its section of docs/benchmarks.md and prints one line of JSON.

    .venv/bin/python bench/api_load.py [--seconds 20] [--port 8201]

Needs PostgreSQL (user postgres; bench/pgserver.py picks its Unix socket, else 127.0.0.1:5432) and
`wrk` (apt-get install -y wrk).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import cpu
from docs_section import write_section
from pgserver import connection_kind, server_url
from workers import describe_workers

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_NAME = "fd_bench_api"
PG_SERVER = server_url()
DB_URL = f"{PG_SERVER}/{DB_NAME}"
SECTION = "## JSON API load (bench/api_load.py)"

SEED = r"""
import json, os
from feedesk.api.services import create_api_token
from feedesk.core.permissions import Role
from feedesk.organizations.services import create_campus, create_organization
from feedesk.payments.services import record_payment
from feedesk.people.services import create_student
from feedesk.users.models import User

schools, students_per_school = int(os.environ["BENCH_SCHOOLS"]), int(os.environ["BENCH_STUDENTS"])
out = []
for n in range(schools):
    org = create_organization(name=f"Bench school {n}", slug=f"bench-{n}")
    campus = create_campus(organization=org, name="HQ", code="hq")
    cashier = User.objects.create_user(f"bench-cashier-{n}", organization=org, role=Role.CASHIER)
    _token, raw = create_api_token(actor=None, user=cashier, name="bench")
    students = [
        create_student(actor=cashier, campus=campus, name=f"学生{i}") for i in range(students_per_school)
    ]
    # A school with a history, as one in service has: its tables are not empty when plans are made.
    for i in range(int(os.environ["BENCH_HISTORY"])):
        record_payment(actor=cashier, student=students[i % len(students)], amount=5000, channel="cash")
    out.append({"token": raw, "students": [s.pk for s in students]})
print(json.dumps(out))
"""

LUA_COMMON = r"""
local schools = {SCHOOLS}
-- Globals, not locals: setup() runs in the main Lua state and hands each thread its own id.
counter = 0
thread_id = 0
local next_id = 0
setup = function(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end
local function pick()
  counter = counter + 1
  local school = schools[(counter % #schools) + 1]
  local student = school.students[(math.floor(counter / #schools) % #school.students) + 1]
  return school, student
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRKRESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, '
      .. '"max_ms": %.2f, "errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, errors, summary.errors.status))
end
"""

LUA_PAYMENTS = r"""
request = function()
  local school, student = pick()
  local body = string.format('{"student_id": %d, "amount": 12800, "channel": "wechat_pay"}', student)
  local headers = {
    ["Authorization"] = "Bearer " .. school.token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-{RUN}-%d-%d", thread_id, counter),
  }
  return wrk.format("POST", "/api/v1/payments", headers, body)
end
"""

LUA_ACCOUNT = r"""
request = function()
  local school, student = pick()
  return wrk.format("GET", "/api/v1/students/" .. student .. "/account",
    {["Authorization"] = "Bearer " .. school.token})
end
"""

# The floor under any request on this server: a page that does nothing, and one that asks the
# database `SELECT 1`. Measured beside the API so the ratios come from the same run.
LUA_FLOOR = r"""
request = function()
  return wrk.format("GET", "{PATH}")
end
"""


def psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def psql_db(sql: str) -> None:
    import psycopg

    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute(sql)


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "FEEDESK_DEBUG": "0",
        "FEEDESK_SECURE_COOKIES": "0",
        "FEEDESK_CONN_MAX_AGE": "600",
        "FEEDESK_LOG_LEVEL": "ERROR",
    }


def lua_table(schools: list[dict]) -> str:
    rows = []
    for school in schools:
        students = ", ".join(str(s) for s in school["students"])
        rows.append(f'{{token = "{school["token"]}", students = {{{students}}}}}')
    return "{" + ", ".join(rows) + "}"


def run_wrk(script: str, url: str, *, seconds: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        # Each wrk run gets its own key space: keys repeated across runs would (rightly) replay.
        handle.write(script.replace("{RUN}", uuid.uuid4().hex[:12]))
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(2, connections)}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    match = re.search(r"WRKRESULT (\{.*\})", out)
    if not match:
        raise SystemExit(f"wrk gave no result:\n{out}")
    result = json.loads(match.group(1))
    result["rps"] = round(result["requests"] / result["seconds"], 1)
    return result


def per_request(cpu_seconds: dict[str, float], requests: int) -> dict[str, float]:
    """CPU milliseconds per request by process group (app workers, PostgreSQL, wrk as "client")."""
    return {name: round(seconds * 1000 / max(requests, 1), 2) for name, seconds in cpu_seconds.items()}


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8201)
    parser.add_argument("--schools", type=int, default=4)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--pay-connections", type=int, default=16)
    parser.add_argument("--read-connections", type=int, default=32)
    parser.add_argument("--history", type=int, default=1000, help="payments each school has before the run")
    # 1: sync workers. Two threads per worker measured 4-30% fewer requests/s here and twice the
    # p99, most likely because a worker's threads share one interpreter lock, so a request that
    # holds its school's ledger locks waits behind its sibling's Python work.
    parser.add_argument("--threads", type=int, default=1)
    # gthread keeps wrk's connections open; with one thread it measured no clear gain over sync.
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    server = None
    try:
        subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env(), check=True)
        seeded = subprocess.run(
            [PY, "manage.py", "shell", "-c", SEED],
            cwd=ROOT,
            env={
                **env(),
                "BENCH_SCHOOLS": str(args.schools),
                "BENCH_STUDENTS": str(args.students),
                "BENCH_HISTORY": str(args.history),
            },
            check=True,
            capture_output=True,
            text=True,
        )
        schools = json.loads(seeded.stdout.strip().splitlines()[-1])
        # A database in service has planner statistics (autovacuum may be off on a test server).
        psql_db("ANALYZE")

        bind = f"127.0.0.1:{args.port}"
        server = subprocess.Popen(
            [
                str(Path(PY).parent / "gunicorn"),
                "config.wsgi",
                "-w",
                "4",
                "-k",
                args.worker_class,
                "--threads",
                str(args.threads),
                "-b",
                bind,
                "--log-level",
                "error",
            ],
            cwd=ROOT,
            env=env(),
            start_new_session=True,
        )
        wait_for(f"http://{bind}/api/v1/openapi.json")
        url = f"http://{bind}"
        common = LUA_COMMON.replace("{SCHOOLS}", lua_table(schools))
        # Warm every worker's connections, caches and prepared statements before measuring.
        run_wrk(common + LUA_ACCOUNT, url, seconds=2, connections=16)
        run_wrk(common + LUA_PAYMENTS, url, seconds=2, connections=16)
        app = {"app": server.pid}

        def run_measured(script: str, connections: int) -> dict:
            """A wrk run with the CPU it cost per request, by process group."""
            start = cpu.snapshot(app, database=DB_NAME)
            result = run_wrk(common + script, url, seconds=args.seconds, connections=connections)
            spent = cpu.used(start, cpu.snapshot(app, database=DB_NAME))
            return {**result, "cpu_ms_per_request": per_request(spent, result["requests"])}

        payments = run_measured(LUA_PAYMENTS, args.pay_connections)
        reads = run_measured(LUA_ACCOUNT, args.read_connections)
        floor = {
            path: run_measured(LUA_FLOOR.replace("{PATH}", path), args.read_connections)
            for path in ("/healthz", "/readyz")
        }
        # One connection: the service time of a request without queueing behind others.
        pay_single = run_wrk(common + LUA_PAYMENTS, url, seconds=5, connections=1)
        read_single = run_wrk(common + LUA_ACCOUNT, url, seconds=5, connections=1)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    verify = subprocess.run(
        [PY, "manage.py", "ledger_verify"], cwd=ROOT, env=env(), capture_output=True, text=True, check=False
    )
    report = json.loads(verify.stdout.strip().splitlines()[-1])
    count = (
        subprocess.run(
            [
                PY,
                "manage.py",
                "shell",
                "-c",
                "from feedesk.payments.models import Payment; print(Payment.objects.count())",
            ],
            cwd=ROOT,
            env=env(),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    load = os.getloadavg()[0]
    result = {
        "bench": "api_load",
        "schools": args.schools,
        "seconds": args.seconds,
        "payments": {**payments, "connections": args.pay_connections, "payments_created": int(count)},
        "account_reads": {**reads, "connections": args.read_connections},
        "floor": {"liveness": floor["/healthz"], "readiness": floor["/readyz"]},
        "single_connection": {"payments": pay_single, "account_reads": read_single},
        "ledger_verify_ok": report["ok"],
        "entries_checked": report["entries_checked"],
        "load_average_1m": round(load, 2),
        "cpus": os.cpu_count(),
    }
    targets_met = (
        payments["rps"] >= 400
        and payments["p99_ms"] < 200
        and payments["errors"] == 0
        and reads["rps"] >= 1500
    )
    result["targets_met"] = targets_met
    result["postgres_connection"] = connection_kind(PG_SERVER)
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    def row(label: str, connections: int, figures: dict) -> str:
        spent = figures.get("cpu_ms_per_request", {})
        return (
            f"| {label} | {connections} | {figures['rps']} | {figures['p50_ms']} | {figures['p99_ms']} "
            f"| {figures['errors']} | {spent.get('app', '—')} | {spent.get('postgres', '—')} |"
        )

    workers = describe_workers(args.worker_class, args.threads)
    write_section(
        SECTION,
        "\n".join(
            [
                SECTION,
                "",
                f"gunicorn with 4 {workers} on PostgreSQL (through a {connection_kind(PG_SERVER)}), wrk",
                "(2 threads) on the same machine over loopback,",
                f"{args.schools} schools × {args.students} students, {args.seconds} s per endpoint.",
                "Every payment carries its own `Idempotency-Key`.",
                f"Measured {measured} on {os.cpu_count()} cores; 1-minute load average {load:.1f} at the end",
                "(the machine is shared with other work, so the figures are noisy). The rows with one",
                "connection show a request's service time without queueing behind others. The last two",
                "rows are the floor under every request on the same server in the same run: `/healthz`",
                "does nothing, `/readyz` asks the database `SELECT 1`. CPU is milliseconds per request,",
                "for the app's processes and for PostgreSQL.",
                "",
                "| endpoint | connections | requests/s | p50 ms | p99 ms | errors "
                "| app CPU | PostgreSQL CPU |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
                row("`POST /payments`", args.pay_connections, payments),
                row("`GET /students/{id}/account`", args.read_connections, reads),
                row("`POST /payments`", 1, pay_single),
                row("`GET /students/{id}/account`", 1, read_single),
                row("`GET /healthz`", args.read_connections, floor["/healthz"]),
                row("`GET /readyz`", args.read_connections, floor["/readyz"]),
                "",
                f"Payments created: {count}; wrk counted {payments['requests'] + pay_single['requests']} "
                "answered payment requests (requests in flight when wrk stops still complete on the server).",
                f"`ledger_verify` afterwards: {'ok' if report['ok'] else 'FAILED'}, "
                f"{report['entries_checked']} entries checked.",
                "Targets (≥400 payments/s with p99 < 200 ms and no errors; ≥1,500 account reads/s): "
                + ("met." if targets_met else "not met."),
                "",
                "",
            ]
        ),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
