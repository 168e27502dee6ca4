"""Server-rendered pages; each view checks the user's role and calls selectors and services."""
