"""Pydantic twins of the hot-path records, for the JSON Schemas and the tests."""
