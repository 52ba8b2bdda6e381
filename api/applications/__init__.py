"""办件 (domain.md §7): submission, the lifecycle as an append-only event log, handling, deadlines' inputs."""
