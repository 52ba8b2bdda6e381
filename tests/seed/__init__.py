"""Tests of the demo seed (api.seed)."""
