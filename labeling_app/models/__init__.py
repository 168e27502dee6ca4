"""ThemeLoop's data model, one module per concern."""
from labeling_app.models.annotations import Adjudication, Annotation
from labeling_app.models.audit import AuditEvent
from labeling_app.models.discovery import Cluster, ClusterAction, ClusterAssignment, DiscoveryRun, MapLayout
from labeling_app.models.embeddings import EmbeddingChunk, EmbeddingRun, ResponseEmbedding
from labeling_app.models.imports import ImportJob
from labeling_app.models.insights import QuotePin
from labeling_app.models.invitations import Invitation
from labeling_app.models.outbox import OutboxJob
from labeling_app.models.projects import Membership, Project, Role
from labeling_app.models.responses import Response
from labeling_app.models.themes import Theme
from labeling_app.models.training import LabelQueue, ModelVersion, QueueLease, SuggestionRejection

__all__ = [
    "Adjudication", "Annotation", "AuditEvent",
    "Cluster", "ClusterAction", "ClusterAssignment", "DiscoveryRun", "EmbeddingChunk", "EmbeddingRun",
    "ImportJob", "Invitation",
    "LabelQueue", "MapLayout", "Membership", "ModelVersion", "OutboxJob", "Project", "QueueLease", "QuotePin",
    "Response",
    "ResponseEmbedding", "Role",
    "SuggestionRejection", "Theme",
]
