"""One settings object for the whole app, read from the environment (``VOICES_`` prefix)
or a ``.env`` file beside where Voices runs."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can configure.

    Every field can be set as an environment variable with the ``VOICES_`` prefix, for
    example ``VOICES_DATABASE_URL=postgresql+psycopg://voices@db/voices``.
    """

    model_config = SettingsConfigDict(env_prefix="VOICES_", env_file=".env", extra="ignore")

    database_url: str = Field("sqlite:///./voices.db",
                              description="SQLAlchemy URL; SQLite file by default, PostgreSQL by URL.")
    data_dir: Path = Field(Path("./data"), description="Where models, lookups and exports live.")
    secret_key: str | None = Field(None, description=(
        "Signs session cookies and CSRF tokens. If unset, a random key is created once in "
        "data_dir/secret_key and reused."))
    service_name: str = "Voices"
    base_url: str = Field("http://127.0.0.1:8000", description="The address people use.")
    https: bool = Field(False, description="True when served over HTTPS: Secure cookies and HSTS.")
    session_hours: float = Field(8.0, description="A session ends after this many idle hours.")
    login_max_failures: int = Field(5, description="Failed logins before an account is locked.")
    login_lockout_minutes: int = 15
    imd_path: Path | None = Field(None, description="MHCLG IoD File 7 CSV for LSOA → IMD lookups.")
    keep_original_text: bool = Field(False, description=(
        "Keep the unredacted text of comments, encrypted, readable only by the "
        "patient-experience role. Off by default: only redacted text is kept."))
    run_jobs_in_app: bool = Field(True, description=(
        "Run background jobs in a thread of the web app. Set false when `voices worker` "
        "runs them in separate processes."))
    log_level: str = "INFO"
    # Rate limits, per client address (votes and statements per participant and per
    # address), per process. The defaults suit the public internet; raise them behind a
    # proxy that hides addresses, or for a load test from one machine (benchmarks/load.py).
    login_rate_per_minute: int = Field(10, ge=1, description=(
        "Sign-in attempts one address may make a minute for one email address."))
    public_rate_per_minute: int = Field(30, ge=1, description=(
        "Answers to public forms (feedback pages, partner sign-up) one address may send "
        "a minute."))
    new_feedback_per_five_minutes: int = Field(20, ge=1, description=(
        "New feedback responses one address may start in five minutes."))
    votes_per_minute: int = Field(60, ge=1, description=(
        "Votes one co-design participant may cast a minute."))
    statements_per_ten_minutes: int = Field(10, ge=1, description=(
        "Statements one co-design participant may add in ten minutes."))
    joins_per_address_per_minute: int = Field(120, ge=1, description=(
        "New participants one address may add to co-design conversations a minute. Enough "
        "for a room of 50 people on one network joining together; votes and statements "
        "keep their own per-address ceilings."))
    votes_per_address_per_minute: int = Field(600, ge=1, description=(
        "Votes one address may send a minute, whoever casts them: the ceiling for someone "
        "joining again and again as new participants. Enough for a room of 50 people on one "
        "network each voting every five seconds."))
    statements_per_address_per_ten_minutes: int = Field(100, ge=1, description=(
        "Statements one address may send in ten minutes, whoever adds them (two each for "
        "a room of 50 people)."))

    def resolved_secret_key(self) -> str:
        """The signing key: the configured one, or one created once and kept on disk."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
