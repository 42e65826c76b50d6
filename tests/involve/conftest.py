"""Fixtures for the involve tests: the shared sortition pools, read once per session."""

from __future__ import annotations

import pytest

from voices.involve.sortition_csv import read_pool, read_quotas


@pytest.fixture(scope="session")
def sortition_pool(shared_data):
    """Load a shared pool by name: returns (pool, quotas)."""
    cache = {}

    def load(name: str):
        if name not in cache:
            folder = shared_data / "sortition" / "pools" / name
            quotas = read_quotas(folder / "features.csv")
            cache[name] = (read_pool(folder / "people.csv", quotas), quotas)
        return cache[name]

    return load
