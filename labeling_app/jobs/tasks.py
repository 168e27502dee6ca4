"""What every worker does besides its tasks: yield CPU to the web server, resume lost jobs, sweep the outbox.

Each package's tasks (jobs.registry.TASK_PACKAGES) are thin wrappers that take ids and call one service. Long
tasks are acknowledged late and put back when their worker dies. They have no Celery retry rule: the cap on
deliveries is in the database (each job's `attempts`, JOB_MAX_ATTEMPTS; see jobs.services.runs), because a task
that kills its worker never reaches code that could count its retries.
"""
import os
import threading

from celery.signals import worker_init, worker_ready, worker_shutdown
from django.conf import settings


@worker_init.connect
def _yield_cpu_to_web(**_: object) -> None:
    # Set before the pool forks, so every child inherits it. Where a worker shares cores with the web server,
    # retrains and embedding runs take only the CPU that requests leave: an analyst's next batch does not wait
    # behind a retrain that can as well finish a second later. Nothing changes on a machine of its own.
    if settings.WORKER_NICENESS:
        os.nice(settings.WORKER_NICENESS)


@worker_ready.connect
def _resume_pending_jobs(**_: object) -> None:
    # Jobs recorded while the broker was down are sent now that a worker is up.
    from labeling_app.jobs.services.outbox import jobs_resume_pending

    jobs_resume_pending()


_sweep: list[threading.Event] = []


@worker_ready.connect
def _start_outbox_sweep(**_: object) -> None:
    # Jobs asked for while the broker was down are sent when it is back, though this worker never restarts.
    from labeling_app.jobs.services.outbox import jobs_sweep_start

    _sweep.append(jobs_sweep_start())


@worker_shutdown.connect
def _stop_outbox_sweep(**_: object) -> None:
    for stop in _sweep:
        stop.set()
