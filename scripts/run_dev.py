"""`make run`: migrate, load the demo, then run web server and Celery worker until Ctrl-C."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def main() -> int:
    env = dict(os.environ)
    env.setdefault("THEMELOOP_DEV", "1")
    env.setdefault("DEBUG", "1")
    sys.path.insert(0, str(ROOT / "scripts"))
    from redis_url import redis_ensure

    env["REDIS_URL"], redis_child = redis_ensure(daemonize=False)
    port = env.get("PORT", "8000")
    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "load_demo"], env=env, check=True, cwd=ROOT)
    procs = [p for p in [redis_child] if p is not None] + [
        subprocess.Popen([PY, "-m", "celery", "-A", "labeling_app", "worker", "-l", "info", "-c", "2",
                          "-Q", "default,imports,embeddings,training",
                          # Periodic tasks (expired uploads): one embedded beat is enough for one dev worker.
                          "-B", "-s", str(ROOT / "var" / "celerybeat-schedule")], env=env, cwd=ROOT),
        subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=env, cwd=ROOT),
    ]
    print(f"\nThemeLoop is running at http://127.0.0.1:{port}/ (Redis: {env['REDIS_URL']}). Ctrl-C stops it.\n",
          flush=True)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in reversed(procs):  # web and worker first, Redis last
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
