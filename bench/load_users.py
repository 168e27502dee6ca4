"""Locust users for bench/load.py: analysts who fetch a batch from the labeling queue and submit its labels.

Run by bench/load.py (`locust -f bench/load_users.py --headless ...`); it reads LOAD_TOKENS (a JSON file of
{"project": id, "themes": [ids], "tokens": [...]}) and writes how many labels were submitted to LOAD_SUBMITTED.
"""
import itertools
import json
import os
import random
from pathlib import Path

from locust import HttpUser, between, events, task

SETUP = json.loads(Path(os.environ["LOAD_TOKENS"]).read_text())
_tokens = itertools.cycle(SETUP["tokens"])
submitted = {"labels": 0}


class Analyst(HttpUser):
    """Asks for 10 responses, spends a moment on them, submits one or two themes for each."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {next(_tokens)}"
        self.base = f"/api/projects/{SETUP['project']}/"
        self.rng = random.Random(id(self))

    @task
    def label_a_batch(self) -> None:
        batch = self.client.get(self.base + "queue/?size=10", name="queue")
        if batch.status_code != 200:
            return
        body = batch.json()
        rows = body.get("results", body) if isinstance(body, dict) else body
        items = [{"response": r["id"], "themes": self.rng.sample(SETUP["themes"], self.rng.choice((1, 2)))}
                 for r in rows]
        if not items:
            return
        saved = self.client.post(self.base + "annotations/", json=items, name="submit")
        if saved.status_code == 201:
            submitted["labels"] += saved.json()["saved"]


@events.test_stop.add_listener
def _write_submitted(**_: object) -> None:
    with open(os.environ["LOAD_SUBMITTED"], "w") as fh:
        fh.write(str(submitted["labels"]))
