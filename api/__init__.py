"""掌上办 API: composition root, settings, shared kit, ORM models and the core domains."""
