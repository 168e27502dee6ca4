"""The audit package: who changed what, recorded by every service that changes a project."""
