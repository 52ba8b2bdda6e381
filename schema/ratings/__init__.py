"""GraphQL edge of ratings."""
