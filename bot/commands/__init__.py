"""The `/perf` command registry: platform-free commands that return `Reply` values."""
