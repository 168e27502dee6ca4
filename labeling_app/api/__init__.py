"""The REST API (DRF), one module per resource."""
