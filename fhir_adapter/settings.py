"""PRM settings → the adapter's connection and mapping configuration."""

from __future__ import annotations

from pathlib import Path

from fhir_adapter.connection import FhirConnection
from fhir_adapter.mapping import MappingConfig
from prm.config import Settings


def _systems(value: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in value.split(",") if s.strip())


def mapping_config(settings: Settings, server: str) -> MappingConfig:
    """Configured identifier systems are added to the built-in defaults."""
    defaults = MappingConfig(server=server)
    return MappingConfig(
        server=server,
        hn_systems=_systems(settings.fhir_hn_systems) + defaults.hn_systems,
        national_id_systems=(_systems(settings.fhir_national_id_systems)
                             + defaults.national_id_systems),
        passport_systems=_systems(settings.fhir_passport_systems) + defaults.passport_systems,
    )


def connection(settings: Settings) -> FhirConnection:
    if not settings.fhir_base_url:
        raise ValueError("PRM_FHIR_BASE_URL is not set: no FHIR server to sync from")
    key = ""
    if settings.fhir_private_key_file:
        key = Path(settings.fhir_private_key_file).read_text()
    return FhirConnection(
        base_url=settings.fhir_base_url, auth=settings.fhir_auth,
        username=settings.fhir_username, password=settings.fhir_password.get_secret_value(),
        token=settings.fhir_token.get_secret_value(), client_id=settings.fhir_client_id,
        token_url=settings.fhir_token_url, private_key_pem=key, key_id=settings.fhir_key_id,
        scopes=settings.fhir_scopes, page_size=settings.fhir_page_size,
        timeout_seconds=settings.fhir_timeout_seconds,
    )


def sync_types(settings: Settings) -> list[str]:
    return list(_systems(settings.fhir_sync_types))
