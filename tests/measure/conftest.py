"""Fixtures for the measure tests: a database holding the demo's measure data (made once
per run, copied for each test that needs it) and a web client on it."""

from __future__ import annotations

import shutil
import uuid

import pytest


@pytest.fixture(scope="session")
def measure_demo_template(tmp_path_factory):
    """A migrated SQLite database with the core demo records and the measure demo."""
    from voices.db import Database
    from voices.demo import load
    from voices.migrate import upgrade

    path = tmp_path_factory.mktemp("measure-demo") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    database = Database(url)
    with database.sessionmaker() as session:
        load(session, areas=("measure",))
    database.dispose()
    return path


@pytest.fixture
def demo_database(measure_demo_template, tmp_path):
    from voices.db import Database

    copy = tmp_path / f"demo-{uuid.uuid4().hex[:8]}.db"
    shutil.copy(measure_demo_template, copy)
    database = Database(f"sqlite:///{copy}")
    yield database
    database.dispose()


@pytest.fixture
def demo_client(demo_database, tmp_path):
    from fastapi.testclient import TestClient

    from voices.settings import Settings
    from voices.web.app import create_app

    settings = Settings(database_url=demo_database.url, data_dir=tmp_path / "data",
                        secret_key="measure-tests-secret", run_jobs_in_app=False,
                        _env_file=None)
    with TestClient(create_app(settings, demo_database), base_url="http://testserver") as client:
        yield client
