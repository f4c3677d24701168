"""One typed settings object, read from the environment (prefix ``PRM_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-secret-key-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRM_", extra="ignore")

    environment: str = "development"  # development | test | production
    database_url: str = "sqlite:///var/prm.db"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    timezone: str = "Asia/Bangkok"
    default_language: str = "th"
    public_base_url: str = "http://127.0.0.1:8000"

    # Sessions: a nurse's shift is up to 12 hours; idle sessions end sooner.
    session_idle_minutes: int = 120
    session_absolute_hours: int = 12
    cookie_secure: bool = False

    # Lock-out: after this many consecutive failures the account waits,
    # doubling each further failure, up to the cap.
    login_max_failures: int = 5
    login_lockout_seconds: int = 60
    login_lockout_cap_seconds: int = 3600

    sms_provider: str = "console"
    embedded_worker: bool = True
    worker_poll_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _refuse_placeholder_secret_outside_development(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key.get_secret_value() == DEV_SECRET_KEY
            or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ValueError(
                "PRM_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
