"""Draft Sync v1 (sync-protocol.md): offline drafts pushed exactly once, merged per field, pulled by cursor."""
