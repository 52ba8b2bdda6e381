"""GraphQL edge of applications."""
