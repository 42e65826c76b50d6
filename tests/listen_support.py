"""Fixtures and helpers for the listen area's storage, page and API tests (import the
fixtures you use into the test module: ``from listen_support import listen_model``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def listen_model(tmp_path_factory):
    """A small default model trained on synthetic demo comments (trained once per run)."""
    from voices.listen.demo import train_demo_model

    return train_demo_model(tmp_path_factory.mktemp("listen-model") / "model", n=300, seed=11)


@pytest.fixture
def listen_demo(database, demo_core, listen_model, tmp_path):
    """The core demo plus a small listen demo (5 or so responses a service), classified."""
    from voices.listen.demo import load_demo

    with database.sessionmaker() as session:
        load_demo(session, demo_core, data_dir=tmp_path, responses_per_service=5,
                  model_dir=listen_model)
    return demo_core


def api_token(database, email: str) -> str:
    """A fresh API token for the account with this email."""
    from sqlalchemy import select

    from voices.core import service as core
    from voices.core.models import Account

    with database.session() as session:
        account = session.scalar(select(Account).where(Account.email == email))
        _, secret = core.create_api_token(session, account, "test kiosk")
    return secret


def count(database, model, *where) -> int:
    """How many rows of ``model`` there are (optionally matching ``where``)."""
    from sqlalchemy import func, select

    with database.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def sqlite_app(sqlite_url, tmp_path):
    """The app on a fresh SQLite database only (for page behaviour that does not depend on
    the database engine), with the core demo records."""
    from voices.db import Database
    from voices.demo import load
    from voices.settings import Settings
    from voices.web.app import create_app

    database = Database(sqlite_url)
    with database.sessionmaker() as session:
        load(session, areas=())
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path / "data",
                        secret_key="listen-tests-secret-key", run_jobs_in_app=False,
                        _env_file=None)
    app = create_app(settings, database)
    yield app
    database.dispose()


@pytest.fixture
def sqlite_client(sqlite_app):
    from fastapi.testclient import TestClient

    with TestClient(sqlite_app, base_url="http://testserver") as client:
        yield client


def start_feedback(client, slug: str, rating: str = "Good", **extra):
    """Answer the rating page of a service's feedback form; returns the response."""
    from support import csrf_from

    page = client.get(f"/f/{slug}")
    data = {"rating": rating, "voices_hp": "", "csrf_token": csrf_from(page.text), **extra}
    return client.post(f"/f/{slug}", data=data, follow_redirects=False)


def answer(client, slug: str, step: str, **data):
    """Answer one later page of the feedback form (without following the redirect)."""
    from support import csrf_from

    page = client.get(f"/f/{slug}/{step}")
    token = csrf_from(page.text)
    return client.post(f"/f/{slug}/{step}", data={"csrf_token": token, **data},
                       follow_redirects=False)


@pytest.fixture
def listen_cli(monkeypatch, db_url, tmp_path):
    """Run `voices …` against the test database (returns a function taking the arguments)."""
    from typer.testing import CliRunner

    from voices.cli import app
    from voices.settings import get_settings

    monkeypatch.setenv("VOICES_DATABASE_URL", db_url)
    monkeypatch.setenv("VOICES_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()
