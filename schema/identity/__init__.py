"""GraphQL types and operations of unified identity."""
