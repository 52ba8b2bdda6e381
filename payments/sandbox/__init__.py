"""Sandbox twins of Alipay's trade methods and of WeChat Pay v3, with a cashier page and a test harness.

Imported only by the composition root and tests (an import-linter contract); never started in production.
"""
