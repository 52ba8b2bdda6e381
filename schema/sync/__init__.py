"""GraphQL edge of offline draft sync (sync-protocol.md §6)."""
