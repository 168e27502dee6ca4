"""Selectors: read queries, always scoped to what the user may see."""
