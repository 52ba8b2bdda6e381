"""GraphQL types of the personal and enterprise home pages."""
