"""Fixtures of the integration tests: the shared `langgraph dev` lives in tests/conftest.py."""
