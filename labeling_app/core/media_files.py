"""Where the app's derived files live in the media store, and their removal when what they derive from goes.

Every file here is a cache of database rows (embedding stores, a discovery run's term counts and map body, model
files of versions, printed reports): a missing one is rebuilt on first use (a report is asked for again), so
removing files never loses data.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def run_folder_path(run_id: int) -> Path:
    """A discovery run's files: its term counts and the fixed part of its map."""
    return Path(settings.MEDIA_ROOT) / "discovery" / f"run-{run_id}"


def report_folder_name(project_id: int) -> str:
    """A project's printed reports, relative to the media store (the FileField's `upload_to`)."""
    return f"reports/project-{project_id}"


def project_folders_get(project_id: int) -> list[Path]:
    """A project's own folders: its embedding stores, its model files and its printed reports."""
    media = Path(settings.MEDIA_ROOT)
    return [media / "embeddings" / f"project-{project_id}", media / "models" / f"project-{project_id}",
            media / report_folder_name(project_id)]


def folders_remove_on_commit(folders: list[Path]) -> None:
    """Remove the folders once the transaction that deleted their rows commits (kept if it rolls back)."""
    def remove() -> None:
        for folder in folders:
            try:
                shutil.rmtree(folder, ignore_errors=False)
            except FileNotFoundError:
                pass
            except OSError:  # the rows are gone: a file left behind is only disk space, logged for the operator
                logger.exception("could not remove %s", folder)

    transaction.on_commit(remove)
