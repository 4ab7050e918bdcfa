"""How the load benchmarks' gunicorn workers run, and how their reports name them."""


def worker_class(requested: str, threads: int) -> str:
    # gunicorn itself runs sync workers given more than one thread as gthread workers.
    return "gthread" if threads > 1 else requested


def describe_workers(requested: str, threads: int) -> str:
    """ "sync workers", "gthread workers", "gthread workers of 2 threads"."""
    return f"{worker_class(requested, threads)} workers" + (f" of {threads} threads" if threads > 1 else "")
