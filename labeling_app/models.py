"""Every model of the app, for Django's app registry; code imports models from their own package."""
from labeling_app.audit.models import AuditEvent
from labeling_app.discovery.models import Cluster, ClusterAction, ClusterAssignment, DiscoveryRun, MapLayout
from labeling_app.exporting.models import ReportExport
from labeling_app.importing.models import ImportJob
from labeling_app.insights.models import QuotePin
from labeling_app.jobs.models import OutboxJob
from labeling_app.labeling.models import (
    Adjudication,
    Annotation,
    AutoCode,
    AutoCoding,
    LabelCheck,
    LabelQueue,
    QueueLease,
    SuggestionRejection,
)
from labeling_app.modeling.models import (
    EmbeddingChunk,
    EmbeddingRun,
    ModelVersion,
    ResponseEmbedding,
    ZeroShotSuggestions,
)
from labeling_app.projects.models import Invitation, Membership, Project, Response, Role
from labeling_app.themes.models import Net, Theme

__all__ = [
    "Adjudication",
    "Annotation",
    "AuditEvent",
    "AutoCode",
    "AutoCoding",
    "Cluster",
    "ClusterAction",
    "ClusterAssignment",
    "DiscoveryRun",
    "EmbeddingChunk",
    "EmbeddingRun",
    "ImportJob",
    "Invitation",
    "LabelCheck",
    "LabelQueue",
    "MapLayout",
    "Membership",
    "ModelVersion",
    "Net",
    "OutboxJob",
    "Project",
    "QueueLease",
    "QuotePin",
    "ReportExport",
    "Response",
    "ResponseEmbedding",
    "Role",
    "SuggestionRejection",
    "Theme",
    "ZeroShotSuggestions",
]
