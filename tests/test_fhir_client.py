"""The FHIR transport against the fake server over real HTTP: paging, filters, retries,
error messages, writes and every auth mode."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fhir_adapter.client import (
    AuthenticationFailed,
    FhirClient,
    FhirError,
    ResourceGone,
    ResourceNotFound,
    retry_after_seconds,
)
from fhir_adapter.connection import FhirConnection
from tests.fhir_clients import FakeClock
from tests.fhir_server import FakeFhirServer

BANGKOK = timezone(timedelta(hours=7))


@pytest.fixture
def server() -> Iterator[FakeFhirServer]:
    with FakeFhirServer() as fake:
        yield fake


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    """(private PEM, public PEM)."""
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _patients(server: FakeFhirServer, count: int) -> set[str]:
    return {server.put({"resourceType": "Patient", "id": f"p{n:02d}"})["id"] for n in range(count)}


# -- Connection ------------------------------------------------------------------------


def test_connection_name_is_a_stable_host_and_path_key() -> None:
    secure = FhirConnection("https://FHIR.Hospital.example:8443/r4/", password="pw", token="tk")
    plain = FhirConnection("http://fhir.hospital.example:8443/r4")
    assert secure.name == plain.name == "fhir.hospital.example:8443/r4"
    assert secure.base_url == "https://FHIR.Hospital.example:8443/r4"
    assert "pw" not in repr(secure) and "tk" not in repr(secure)


@pytest.mark.parametrize(
    "options",
    [
        {"base_url": "ftp://fhir.example/r4"},
        {"base_url": "https://user:pw@fhir.example/r4"},
        {"base_url": "https://fhir.example/r4", "auth": "kerberos"},
        {"base_url": "https://fhir.example/r4", "page_size": 0},
    ],
)
def test_connection_refuses_bad_settings(options: dict) -> None:
    with pytest.raises(ValueError):
        FhirConnection(**options)


# -- Search ----------------------------------------------------------------------------


def test_paging_follows_next_links_and_yields_every_resource_once(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    expected = _patients(server, 23)
    client = connect(page_size=5)

    pages = list(client.search("Patient"))
    ids = [entry["resource"]["id"] for page in pages for entry in page["entry"]]

    assert len(pages) == 5 and pages[0]["total"] == 23
    assert sorted(ids) == sorted(expected)
    assert "_count=5" in server.requests_to("/fhir/Patient")[0]
    assert len(server.requests_to("_getpages=")) == 4


def test_relative_next_links_resolve_against_the_base(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    server.relative_next_links = True
    expected = _patients(server, 7)

    ids = [resource["id"] for resource in connect(page_size=3).search_resources("Patient")]

    assert sorted(ids) == sorted(expected)
    assert len(server.requests_to("/fhir/Patient?_getpages=")) == 2


def test_an_explicit_count_wins_over_the_page_size(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    _patients(server, 4)
    pages = list(connect(page_size=50).search("Patient", {"_count": "2"}))
    assert len(pages) == 2
    assert "_count=50" not in server.requests_to("/fhir/Patient")[0]


def test_last_updated_filter_compares_instants_across_timezones(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    server.put({"resourceType": "Patient", "id": "old"}, last_updated="2024-02-29T16:59:59Z")
    server.put({"resourceType": "Patient", "id": "edge"}, last_updated="2024-02-29T17:00:00Z")
    server.put({"resourceType": "Patient", "id": "new"}, last_updated="2024-03-02T00:00:00Z")
    client = connect()
    since = datetime(2024, 3, 1, tzinfo=BANGKOK).isoformat()  # = 2024-02-29T17:00Z

    at_or_after = client.search_resources("Patient", {"_lastUpdated": f"ge{since}"})
    after = client.search_resources("Patient", {"_lastUpdated": f"gt{since}"})
    window = client.search_resources(
        "Patient", [("_lastUpdated", f"ge{since}"), ("_lastUpdated", "lt2024-03-02T00:00:00Z")]
    )

    assert [r["id"] for r in at_or_after] == ["edge", "new"]
    assert [r["id"] for r in after] == ["new"]
    assert [r["id"] for r in window] == ["edge"]


def test_results_come_sorted_by_last_updated_and_filter_by_subject(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    for n, (subject, stamp) in enumerate(
        [("p1", "2024-01-03"), ("p2", "2024-01-01"), ("p1", "2024-01-02")]
    ):
        observation = {
            "resourceType": "Observation",
            "id": f"o{n}",
            "subject": {"reference": f"Patient/{subject}"},
        }
        server.put(observation, last_updated=f"{stamp}T00:00:00Z")

    found = connect().search_resources("Observation", {"subject": "Patient/p1"})

    assert [r["id"] for r in found] == ["o2", "o0"]


def test_search_outcomes_are_warnings_not_resources(
    server: FakeFhirServer, connect: Callable[..., FhirClient], caplog: pytest.LogCaptureFixture
) -> None:
    server.lenient = True
    _patients(server, 2)
    outcomes: list[dict] = []

    with caplog.at_level(logging.WARNING, logger="fhir_adapter.client"):
        resources = list(
            connect().search_resources("Patient", {"colour": "red"}, on_outcome=outcomes.append)
        )

    assert {r["resourceType"] for r in resources} == {"Patient"} and len(resources) == 2
    assert outcomes[0]["resourceType"] == "OperationOutcome"
    assert "Ignored unknown search parameter 'colour'" in caplog.text


def test_a_bad_search_fails_at_once_with_the_servers_words(
    server: FakeFhirServer, connect: Callable[..., FhirClient], clock: FakeClock
) -> None:
    with pytest.raises(FhirError) as caught:
        list(connect().search("Patient", {"foo": "1"}))

    assert str(caught.value) == (
        "GET Patient?foo=1&_count=200 failed with 400: Unknown search parameter 'foo'"
    )
    assert caught.value.status == 400 and caught.value.url.endswith(
        "/fhir/Patient?foo=1&_count=200"
    )
    assert clock.sleeps == []


def test_a_next_link_to_another_origin_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [],
            "link": [{"relation": "next", "url": "https://elsewhere.example/fhir?page=2"}],
        }
        return httpx.Response(200, json=bundle)

    connection = FhirConnection("https://fhir.hospital.example/r4", auth="bearer", token="t")
    with FhirClient(connection, transport=httpx.MockTransport(answer)) as client:
        pages = client.search("Patient")
        next(pages)
        with pytest.raises(FhirError, match="points away from fhir.hospital.example"):
            next(pages)


# -- Retries ---------------------------------------------------------------------------


def test_429_waits_as_long_as_retry_after_says(
    server: FakeFhirServer, connect: Callable[..., FhirClient], clock: FakeClock
) -> None:
    server.put({"resourceType": "Patient", "id": "p1"})
    fault = server.fail_next(1, status=429, retry_after=7)

    assert connect().read("Patient", "p1")["id"] == "p1"
    assert clock.sleeps == [7.0] and fault.served == 1


def test_retry_after_as_an_http_date(
    server: FakeFhirServer, connect: Callable[..., FhirClient], clock: FakeClock
) -> None:
    server.put({"resourceType": "Patient", "id": "p1"})
    server.fail_next(
        1,
        status=503,
        retry_after=format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True),
    )

    connect().read("Patient", "p1")

    assert len(clock.sleeps) == 1 and 1.0 <= clock.sleeps[0] <= 3.0


def test_server_errors_back_off_exponentially_then_succeed(
    server: FakeFhirServer, connect: Callable[..., FhirClient], clock: FakeClock
) -> None:
    server.put({"resourceType": "Patient", "id": "p1"})
    fault = server.fail_next(2, status=500)

    assert connect().read("Patient", "p1")["id"] == "p1"
    assert fault.served == 2
    first, second = clock.sleeps
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0


def test_a_timeout_is_retried(
    server: FakeFhirServer, connect: Callable[..., FhirClient], clock: FakeClock
) -> None:
    server.put({"resourceType": "Patient", "id": "p1"})
    delay = server.delay_next(1, seconds=0.6)

    assert connect(timeout_seconds=0.2).read("Patient", "p1")["id"] == "p1"
    assert delay.served == 1 and len(clock.sleeps) == 1


def test_giving_up_reports_the_operation_outcome(
    server: FakeFhirServer, connect: Callable[..., FhirClient], clock: FakeClock
) -> None:
    fault = server.fail_next(10, status=503, operation_outcome="Database is being restored")

    with pytest.raises(FhirError) as caught:
        connect(max_retries=2).read("Patient", "p1")

    assert str(caught.value) == (
        "GET Patient/p1 failed with 503 after 3 attempts: Database is being restored"
    )
    assert caught.value.status == 503 and fault.served == 3 and len(clock.sleeps) == 2


def test_a_create_is_not_resent_after_a_500_but_is_after_a_503(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    client = connect()
    server.fail_next(1, status=500, path_contains="/Communication")
    with pytest.raises(FhirError, match="failed with 500"):
        client.create({"resourceType": "Communication", "status": "completed"})

    server.fail_next(1, status=503, path_contains="/Communication")
    client.create({"resourceType": "Communication", "status": "completed"})

    assert len(server.requests_to("/fhir/Communication", method="POST")) == 3


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("5") == 5.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("86400") == 300.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# -- Read and write --------------------------------------------------------------------


def test_missing_and_deleted_resources_have_their_own_errors(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    server.put({"resourceType": "Patient", "id": "p1"})
    server.delete("Patient", "p1")
    client = connect()

    with pytest.raises(ResourceGone, match="410: Patient/p1 has been deleted"):
        client.read("Patient", "p1")
    with pytest.raises(ResourceNotFound, match="404: Patient/p2 is not known") as caught:
        client.read("Patient", "p2")
    assert caught.value.status == 404
    with pytest.raises(ValueError):
        client.read("Patient", "../Group/g1")


def test_create_and_update_write_fhir_json(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    client = connect()

    created = client.create({"resourceType": "Communication", "status": "in-progress"})
    task = client.update({"resourceType": "Task", "id": "t1", "status": "requested"})
    updated = client.update({**task, "status": "completed"})

    assert server.get("Communication", created["id"])["status"] == "in-progress"
    assert (updated["status"], updated["meta"]["versionId"]) == ("completed", "2")
    _, _, headers = server.requests[0]
    assert headers["content-type"] == "application/fhir+json"
    assert headers["accept"] == "application/fhir+json"


def test_a_write_reply_without_body_is_read_back_from_its_location(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    server.minimal_write_replies = True

    created = connect().create({"resourceType": "Communication", "status": "completed"})

    assert created["meta"]["versionId"] == "1" and created["status"] == "completed"


# -- Authentication --------------------------------------------------------------------


def test_basic_auth(clock: FakeClock) -> None:
    with FakeFhirServer(auth="basic", username="prm", password="pw-123") as server:
        server.put({"resourceType": "Patient", "id": "p1"})
        good = FhirConnection(server.base_url, auth="basic", username="prm", password="pw-123")
        bad = FhirConnection(server.base_url, auth="basic", username="prm", password="wrong-pw")

        with FhirClient(good, sleep=clock.sleep) as client:
            assert client.read("Patient", "p1")["id"] == "p1"
        with (
            FhirClient(bad, sleep=clock.sleep) as client,
            pytest.raises(AuthenticationFailed, match="401: Authentication required") as caught,
        ):
            client.read("Patient", "p1")

    assert "wrong-pw" not in str(caught.value) and clock.sleeps == []


def test_bearer_auth(clock: FakeClock) -> None:
    with FakeFhirServer(auth="bearer", bearer_token="tok-1") as server:
        server.put({"resourceType": "Patient", "id": "p1"})
        connection = FhirConnection(server.base_url, auth="bearer", token="tok-1")
        with FhirClient(connection, sleep=clock.sleep) as client:
            assert client.read("Patient", "p1")["id"] == "p1"
        _, _, headers = server.requests[-1]
        assert headers["authorization"] == "Bearer tok-1"


@pytest.fixture
def smart_server(rsa_keys: tuple[str, str]) -> Iterator[FakeFhirServer]:
    with FakeFhirServer(auth="smart", token_lifetime=300) as fake:
        fake.register_client("prm-backend", rsa_keys[1])
        fake.put({"resourceType": "Patient", "id": "p1"})
        yield fake


def _smart_client(
    server: FakeFhirServer, private_pem: str, clock: FakeClock, **options
) -> FhirClient:
    connection = FhirConnection(
        server.base_url,
        auth="smart",
        client_id="prm-backend",
        private_key_pem=private_pem,
        key_id="key-1",
        **options,
    )
    return FhirClient(connection, sleep=clock.sleep, clock=clock)


def test_smart_discovers_the_token_endpoint_and_caches_the_token(
    smart_server: FakeFhirServer, rsa_keys: tuple[str, str], clock: FakeClock
) -> None:
    with _smart_client(smart_server, rsa_keys[0], clock) as client:
        client.read("Patient", "p1")
        client.read("Patient", "p1")

    assert smart_server.tokens_issued == 1
    assert len(smart_server.requests_to("/.well-known/smart-configuration")) == 1
    token_request = smart_server.requests_to("/auth/token")
    assert len(token_request) == 1


def test_smart_with_an_ec_key_and_a_configured_token_url(clock: FakeClock) -> None:
    private, public = _pem(ec.generate_private_key(ec.SECP384R1()))
    with FakeFhirServer(auth="smart") as server:
        server.register_client("prm-backend", public)
        server.put({"resourceType": "Patient", "id": "p1"})
        with _smart_client(server, private, clock, token_url=server.token_url) as client:
            assert client.read("Patient", "p1")["id"] == "p1"
        assert server.requests_to("/.well-known") == []


def test_smart_renews_the_token_shortly_before_it_expires(
    smart_server: FakeFhirServer, rsa_keys: tuple[str, str], clock: FakeClock
) -> None:
    with _smart_client(smart_server, rsa_keys[0], clock) as client:
        client.read("Patient", "p1")
        clock.now += 260  # 40 s of a 300 s token left: still good
        client.read("Patient", "p1")
        assert smart_server.tokens_issued == 1
        clock.now += 20  # inside the renewal margin
        client.read("Patient", "p1")

    assert smart_server.tokens_issued == 2


def test_smart_fetches_a_fresh_token_once_after_a_401(
    smart_server: FakeFhirServer, rsa_keys: tuple[str, str], clock: FakeClock
) -> None:
    with _smart_client(smart_server, rsa_keys[0], clock) as client:
        client.read("Patient", "p1")
        smart_server.revoke_tokens()
        assert client.read("Patient", "p1")["id"] == "p1"

    assert smart_server.tokens_issued == 2
    assert len(smart_server.requests_to("/fhir/Patient/p1")) == 3  # ok, 401, ok


def test_smart_with_the_wrong_key_fails_clearly(
    smart_server: FakeFhirServer, clock: FakeClock
) -> None:
    other_private, _ = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    with (
        _smart_client(smart_server, other_private, clock) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        client.read("Patient", "p1")

    message = str(caught.value)
    assert "SMART token request" in message and "failed with 401: invalid_client" in message
    assert "Signature verification failed" in message
    assert "PRIVATE KEY" not in message and clock.sleeps == []
    assert smart_server.requests_to("/fhir/Patient") == []


def test_smart_retries_a_busy_token_endpoint(
    smart_server: FakeFhirServer, rsa_keys: tuple[str, str], clock: FakeClock
) -> None:
    smart_server.fail_next(1, status=503, retry_after=2, path_contains="/auth/token")

    with _smart_client(smart_server, rsa_keys[0], clock) as client:
        assert client.read("Patient", "p1")["id"] == "p1"

    assert clock.sleeps == [2.0] and smart_server.tokens_issued == 1


def test_smart_refuses_a_key_that_is_not_pem() -> None:
    connection = FhirConnection(
        "https://fhir.example/r4", auth="smart", client_id="c", private_key_pem="nonsense"
    )
    with pytest.raises(ValueError, match="not a usable PEM private key"):
        FhirClient(connection)
