"""Non-GraphQL routes: health, readiness, metrics (and, later, provider callbacks and upload chunks)."""
