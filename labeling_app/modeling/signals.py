"""What the modeling package tells packages above it, which it must not import (ARCHITECTURE.md)."""
from django.dispatch import Signal

#: An embedding run ended (succeeded or failed), inside its finishing transaction: receivers get `run`.
embedding_run_finished = Signal()
