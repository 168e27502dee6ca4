"""Reads of printed reports: a project's report jobs, newest first."""
from django.db.models import QuerySet

from labeling_app.exporting.models import ReportExport
from labeling_app.projects.models import Project


def report_exports_of_project(*, project: Project) -> QuerySet[ReportExport]:
    """The project's PDF reports, newest first (any member may read them: they hold what the exports hold)."""
    return ReportExport.objects.filter(project=project).select_related("project")


def report_export_ready(*, job: ReportExport) -> bool:
    """Whether the report's PDF can be downloaded: printed, and not yet deleted by REPORT_RETENTION_HOURS."""
    return job.status == ReportExport.Status.SUCCEEDED and bool(job.file)
