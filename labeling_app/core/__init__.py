"""The core package: HTTP plumbing (error shape, parameter parsing, pagination, schema), the tolerant cache,
media-store paths, progress counters, Redis health."""
