"""Fixtures for tests that talk to the fake FHIR server through the real client: a clock
that never waits (retries record their sleeps instead) and ``connect(**options)``.

Registered for every test module by ``pytest_plugins`` in tests/conftest.py; a module
provides its own ``server`` fixture (a :class:`tests.fhir_server.FakeFhirServer`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from fhir_adapter.client import FhirClient
from fhir_adapter.connection import FhirConnection


class FakeClock:
    """Stands in for both time.monotonic and time.sleep: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def connect(server, clock: FakeClock) -> Iterator[Callable[..., FhirClient]]:
    """Clients for ``server``; options are FhirConnection fields. Closed after the test."""
    clients: list[FhirClient] = []

    def _connect(**options: object) -> FhirClient:
        connection = FhirConnection(base_url=server.base_url, **options)  # type: ignore[arg-type]
        clients.append(FhirClient(connection, sleep=clock.sleep, clock=clock))
        return clients[-1]

    yield _connect
    for client in clients:
        client.close()
