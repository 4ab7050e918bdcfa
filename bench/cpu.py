"""CPU seconds used by the processes of a benchmark, grouped: where a run's two cores went.

`snapshot({"app": pid, ...}, database="db")` reads utime+stime from /proc for each named server
and its children, for PostgreSQL's backends serving `database` and its shared background processes
(WAL writer, checkpointer, ...), and for this process; `used(before, after)` gives the difference.
Backends of other databases (other work on the same server) are left out.
"""

import os

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command: state, ppid, ... utime (11), stime (12) counted from state as 0.
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return ""


def _serves(command: str, database: str) -> bool:
    """A PostgreSQL process working for `database`: its backends ("postgres: user db host ...")
    or a shared one ("postgres: 15/main: walwriter")."""
    if not command.startswith("postgres"):
        return False
    words = command.split()
    backend = len(words) >= 4 and words[0] == "postgres:" and not words[1].endswith(":")
    return not backend or words[2] == database


def snapshot(servers: dict[str, int], *, database: str) -> dict[str, float]:
    processes = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))):
            processes[int(entry)] = stat
    totals = {name: 0.0 for name in servers}
    totals["postgres"] = 0.0
    for pid, (ppid, seconds) in processes.items():
        for name, root in servers.items():
            if pid == root or ppid == root:
                totals[name] += seconds
        if _serves(_command(pid), database):
            totals["postgres"] += seconds
    times = os.times()
    totals["client"] = times.user + times.system + times.children_user + times.children_system
    return totals


def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per group between two snapshots (a process that ended meanwhile is not counted)."""
    return {name: round(after[name] - before.get(name, 0.0), 2) for name in after}
