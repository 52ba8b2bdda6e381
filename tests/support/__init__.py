"""Helpers for the test suite that are not tests themselves (e.g. throwaway PostgreSQL and Redis servers)."""
