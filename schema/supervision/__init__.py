"""GraphQL edge of supervision."""
