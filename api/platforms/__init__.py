"""Shared platform clients (SMS, WeChat, Alipay, provincial SSO) and, in `sandbox`, their twins.

Clients take the process's `httpx.AsyncClient` and their endpoints as arguments, so the same code talks to the
real platform in production and to the sandbox in tests and in the embedded mode.
"""
