"""Fixtures for the listen area's storage, page and API tests (defined in listen_support)."""

from listen_support import (  # noqa: F401
    listen_cli,
    listen_demo,
    listen_model,
    sqlite_app,
    sqlite_client,
)
