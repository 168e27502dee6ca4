"""Codeframe files read into a project's theme set (the response import's readers, the themes' services)."""
