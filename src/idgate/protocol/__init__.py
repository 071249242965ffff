"""The protocol core: OAuth 2.0 and OpenID Connect rules as plain functions over frozen values.

Nothing in this package imports an HTTP framework, a SQL toolkit or a JOSE library; a test
(`tests/protocol/test_boundary.py`) keeps it that way.
"""
