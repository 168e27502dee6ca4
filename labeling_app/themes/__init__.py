"""The themes package: each project's theme set (create, edit, reorder, copy)."""
