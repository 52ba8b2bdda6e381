"""GraphQL types and operations of the licence wallet (电子证照)."""
