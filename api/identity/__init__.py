"""Unified identity (统一身份认证): persons, enterprises, bindings, agents, sessions, operators."""
