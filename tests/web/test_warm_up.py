"""The app that `voices serve` builds compiles every page before it takes requests, so a
fresh worker's first visitors do not wait for it (about a second each under load)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_the_served_app_compiles_its_pages_before_the_first_request(monkeypatch, tmp_path,
                                                                     sqlite_url):
    from voices.settings import get_settings
    from voices.web.app import create_app

    for name, value in {"VOICES_DATABASE_URL": sqlite_url,
                        "VOICES_DATA_DIR": str(tmp_path / "data"),
                        "VOICES_SECRET_KEY": "warm-up-test",
                        "VOICES_RUN_JOBS_IN_APP": "false"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        app = create_app()  # as uvicorn's factory does: settings from the environment
        env = app.state.templates.env
        assert len(env.cache) == 0
        with TestClient(app) as client:
            compiled = len(env.cache)
            assert compiled == len(env.list_templates(
                filter_func=lambda n: n.endswith((".html", ".jinja"))))
            assert client.get("/feedback").status_code == 200
            assert client.get("/login").status_code == 200
            assert len(env.cache) == compiled  # nothing left to compile on first use
        kept = list((tmp_path / "data" / "cache" / "templates").iterdir())
        assert len(kept) == compiled  # the next worker or start loads these instead
    finally:
        get_settings.cache_clear()


def test_an_app_given_its_settings_starts_without_compiling_everything(settings, database):
    from voices.web.app import create_app

    app = create_app(settings, database)
    with TestClient(app):
        assert len(app.state.templates.env.cache) == 0
