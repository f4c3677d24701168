"""How to reach one FHIR R4 server: its base URL, the way we authenticate and the limits
we keep to. Pure configuration; the client and the auth flows read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

AUTH_MODES = ("none", "basic", "bearer", "smart")


@dataclass(frozen=True)
class FhirConnection:
    base_url: str
    auth: str = "none"
    username: str = ""
    # Secrets stay out of repr() so a logged connection never leaks them.
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    client_id: str = ""
    # SMART backend services: empty means "discover it from .well-known/smart-configuration".
    token_url: str = ""
    private_key_pem: str = field(default="", repr=False)
    key_id: str = ""
    scopes: str = "system/*.read"
    page_size: int = 200
    timeout_seconds: float = 30
    max_retries: int = 5

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("FHIR base URL must be an http(s) URL with a host")
        if parts.username or parts.password:
            raise ValueError("put FHIR credentials in the auth settings, not in the base URL")
        if self.auth not in AUTH_MODES:
            raise ValueError(f"FHIR auth must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
        if self.page_size < 1 or self.max_retries < 0 or self.timeout_seconds <= 0:
            raise ValueError("FHIR page size and timeout must be positive, retries not negative")
        # One spelling of the base URL, so joined paths and server keys never differ by a slash.
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def name(self) -> str:
        """A short, stable key for this server, e.g. ``fhir.hospital.example/r4``.

        Others store it beside (type, id) of every resource they import, so it must not
        change when the scheme or a trailing slash does."""
        parts = urlsplit(self.base_url)
        host = (parts.hostname or "").lower()
        if ":" in host:  # IPv6 literal: keep the brackets so the port stays readable
            host = f"[{host}]"
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return f"{host}{parts.path}".rstrip("/")
