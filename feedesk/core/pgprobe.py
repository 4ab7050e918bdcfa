"""Exit 0 when a TCP server answers at HOST PORT (used by `make test` to find PostgreSQL)."""

import socket
import sys


def answers(host: str, port: int, timeout: float = 1.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(0 if answers(sys.argv[1], int(sys.argv[2])) else 1)
