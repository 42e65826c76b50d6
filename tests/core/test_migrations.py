"""The migrations build exactly the models' schema, and can be undone and redone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from voices.db import load_all_models
from voices.migrate import downgrade, upgrade


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, load_all_models())
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrading_gives_exactly_the_models_schema(db_url):
    assert _diff(db_url) == []
    assert set(load_all_models().tables) <= _tables(db_url)


def test_downgrade_then_upgrade_round_trips(db_url):
    tables = _tables(db_url)
    downgrade(db_url, "base")
    assert _tables(db_url) <= {"alembic_version"}
    upgrade(db_url)
    assert _tables(db_url) == tables
    assert _diff(db_url) == []
