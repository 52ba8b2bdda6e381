"""GraphQL types and operations of the service catalog, search and guided navigation."""
