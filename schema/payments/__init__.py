"""GraphQL edge of 缴 (payments.md §10, §13)."""
