"""The demo's moving parts: the synthetic pgGit workload generator (and, later, embedded
PostgreSQL start-up)."""
