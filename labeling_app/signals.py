"""Signal receivers, connected once the app is ready (apps.py): deleting a project or a discovery run (admin site,
cascades) removes its derived files from the media store; a finished embedding run releases the discovery runs
that waited for it (modeling emits, discovery listens: modeling never imports discovery)."""
from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from labeling_app.core.media_files import folders_remove_on_commit, project_folders_get, run_folder_path
from labeling_app.discovery.models import DiscoveryRun
from labeling_app.discovery.services import discovery_runs_waiting_release
from labeling_app.modeling.signals import embedding_run_finished
from labeling_app.projects.models import Project


@receiver(post_delete, sender=Project, dispatch_uid="project_files_remove")
def _project_files_remove(sender: type, instance: Project, **kwargs: Any) -> None:
    folders_remove_on_commit(project_folders_get(instance.pk))


@receiver(post_delete, sender=DiscoveryRun, dispatch_uid="run_files_remove")
def _run_files_remove(sender: type, instance: DiscoveryRun, **kwargs: Any) -> None:
    folders_remove_on_commit([run_folder_path(instance.pk)])


embedding_run_finished.connect(discovery_runs_waiting_release, dispatch_uid="discovery_runs_waiting_release")
