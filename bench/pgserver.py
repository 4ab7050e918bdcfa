"""The PostgreSQL server the benchmarks use: FEEDESK_BENCH_PG when set, else this machine's.

On this machine they reach it as a single-host deployment should, through its Unix socket when
there is one: a statement costs both sides less CPU than over TCP on loopback.
"""

import os
from urllib.parse import quote

SOCKET_DIRECTORY = "/var/run/postgresql"
OVER_TCP = "postgres://postgres@127.0.0.1:5432"


def server_url() -> str:
    """postgres://user@host, without a database name."""
    if os.environ.get("FEEDESK_BENCH_PG"):
        return os.environ["FEEDESK_BENCH_PG"].rstrip("/")
    if os.path.exists(os.path.join(SOCKET_DIRECTORY, ".s.PGSQL.5432")):
        return f"postgres://postgres@{quote(SOCKET_DIRECTORY, safe='')}"
    return OVER_TCP


def connection_kind(url: str) -> str:
    return "Unix socket" if url.split("@", 1)[-1].startswith("%2F") else "TCP"
