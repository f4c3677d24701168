"""One typed settings object, read from the environment (prefix ``PRM_``)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-secret-key-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRM_", extra="ignore", populate_by_name=True)

    environment: str = "development"  # development | test | production
    database_url: str = "sqlite:///var/prm.db"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    timezone: str = "Asia/Bangkok"
    default_language: str = "th"
    public_base_url: str = "http://127.0.0.1:8000"

    # Sessions: a nurse's shift is up to 12 hours; idle sessions end sooner.
    session_idle_minutes: int = 120
    session_absolute_hours: int = 12
    # Secure cookies and HSTS: always on in production (served over HTTPS only).
    cookie_secure: bool = False

    # Failed logins (prm.auth.throttle): after this many failures for one account from
    # one address, that pair waits, doubling each further failure, up to the cap...
    login_max_failures: int = 5
    login_lockout_seconds: int = 60
    login_lockout_cap_seconds: int = 3600
    # ...and after this many from one address within the window, whatever the usernames,
    # that address waits (doubling likewise).
    login_address_max_failures: int = 20
    login_address_window_seconds: int = 3600
    login_address_block_seconds: int = 900

    # Hospital records through FHIR R4 (fhir_adapter). Empty base URL: no live sync.
    fhir_base_url: str = ""
    fhir_auth: str = "none"  # none | basic | bearer | smart
    fhir_username: str = ""
    fhir_password: SecretStr = SecretStr("")
    fhir_token: SecretStr = SecretStr("")
    fhir_client_id: str = ""
    fhir_token_url: str = ""  # SMART: discovered from .well-known when empty
    fhir_private_key_file: str = ""  # SMART backend services: PEM key signing the JWT
    fhir_key_id: str = ""
    fhir_scopes: str = "system/*.read"
    fhir_page_size: int = Field(default=200, gt=0)
    fhir_timeout_seconds: float = Field(default=30, gt=0)
    # Worker: pull changes this often (0 turns the scheduled sync off).
    fhir_sync_seconds: int = Field(default=900, ge=0)
    # Servers commit out of order: each pull starts this far before the last watermark.
    fhir_overlap_seconds: int = Field(default=300, ge=0)
    fhir_sync_types: str = (
        "Organization,Practitioner,Patient,Coverage,Encounter,Appointment,"
        "MedicationRequest,MedicationDispense,Observation,DiagnosticReport")
    # Shared secret a rest-hook subscription sends, only as "Authorization: Bearer …".
    fhir_subscription_secret: SecretStr = SecretStr("")
    # Notifications are recorded by the web process and acted on by the worker. A body
    # larger than this is refused (413); with this many waiting, new ones are refused
    # with 503 + Retry-After (the server sends them again) rather than the table growing
    # without end while the worker cannot keep up or the FHIR server is down.
    fhir_notification_max_bytes: int = Field(default=1_000_000, gt=0)
    fhir_notification_max_pending: int = Field(default=1000, gt=0)
    # A notification that keeps failing is tried this many times (with growing waits
    # between tries), then kept as failed for the integrator.
    fhir_notification_max_attempts: int = Field(default=8, gt=0)
    # Resources pushed inside a notification are read back from the server by Type/id
    # before they change a patient: anyone holding the secret could push anything.
    # True ingests them as sent (a server on a network you trust, saving the reads).
    fhir_trust_pushed_resources: bool = False
    # Identifier systems (comma-separated) that carry the HN, national ID, passport.
    fhir_hn_systems: str = ""
    fhir_national_id_systems: str = ""
    fhir_passport_systems: str = ""
    # Write follow-up worklist items back to the server as Task resources (worker).
    fhir_write_back: bool = False
    # Name under which `prm fhir import` keys records read from files.
    fhir_import_source: str = "file-import"

    # The hours the booking form offers free slots in, hospital time ("HH:MM-HH:MM"):
    # clinics and clinicians have no hours of their own yet, so one working day for all.
    # Staff may still type a time outside them.
    clinic_hours: str = Field(default="08:00-16:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")

    # SMS (prm.messaging). "console" keeps messages inside PRM (make run, the demo);
    # "twilio" sends them through Twilio's API (or PRM_TWILIO_API_URL: tests, staging).
    sms_provider: str = Field(default="console", pattern=r"^(console|twilio)$")
    hospital_name: str = "PRM Hospital"  # {hospital_name}: the sender name patients know
    hospital_phone: str = "02 000 0000"  # {hospital_phone}
    twilio_account_sid: str = Field(default="", validation_alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr = Field(default=SecretStr(""),
                                         validation_alias="TWILIO_AUTH_TOKEN")
    # The sender, first set wins: a Messaging Service, an alphanumeric sender ID
    # (Thailand: pre-registered, one-way), or a number (two-way where the country allows).
    twilio_messaging_service_sid: str = Field(default="",
                                              validation_alias="TWILIO_MESSAGING_SERVICE_SID")
    sms_sender_id: str = ""
    twilio_from_number: str = Field(default="", validation_alias="TWILIO_FROM_NUMBER")
    twilio_api_url: str = "https://api.twilio.com"
    twilio_timeout_seconds: float = Field(default=10, gt=0)
    # No SMS in these hours, hospital time ("HH:MM-HH:MM", may cross midnight): a message
    # due then waits for the morning.
    sms_quiet_hours: str = Field(default="21:00-08:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")
    sms_daily_cap: int = Field(default=3, ge=1)  # messages per patient per hospital day
    sms_max_attempts: int = Field(default=6, ge=1)  # transient failures, then failed
    sms_price_per_segment: float = Field(default=0.35, ge=0)  # the provider's price...
    sms_currency: str = "THB"  # ...in this currency, for the expected cost of a template
    sms_link_hours: int = Field(default=168, gt=0)  # a one-tap link works this long
    # A reply belongs to the last message sent to its number within this window.
    sms_reply_window_hours: int = Field(default=72, gt=0)
    embedded_worker: bool = True
    # Threads per web process for sync routes (see prm.app.limit_request_threads).
    web_threads: int = Field(default=4, ge=1, le=64)
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

    @model_validator(mode="after")
    def _secure_transport_in_production(self) -> Settings:
        if self.environment == "production":
            self.cookie_secure = True
        return self

    @model_validator(mode="after")
    def _clinic_hours_open_before_they_close(self) -> Settings:
        opens, closes = self.clinic_day
        if opens >= closes:
            raise ValueError("PRM_CLINIC_HOURS must open before it closes, e.g. 08:00-16:00")
        return self

    @property
    def clinic_day(self) -> tuple[time, time]:
        """``clinic_hours`` as (opens, closes)."""
        opens, closes = self.clinic_hours.split("-")
        return time.fromisoformat(opens), time.fromisoformat(closes)

    @property
    def quiet_hours(self) -> tuple[time, time]:
        """``sms_quiet_hours`` as (starts, ends); ends may be earlier (past midnight)."""
        starts, ends = self.sms_quiet_hours.split("-")
        return time.fromisoformat(starts), time.fromisoformat(ends)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
