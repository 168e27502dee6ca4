"""The discovery package: clustering runs, cluster edits, the map and its layout job, similar responses."""
