"""The live package: the per-project event channel the pages listen to (publish, listen); knows no model."""
