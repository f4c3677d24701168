"""Bulk Data $export against the fake server over real HTTP: kick-off, polling, manifest,
download into a local directory, Group level, _since with deletions, truncated files,
resumed downloads and cancellation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from fhir_adapter.bulk import (
    cancel_export,
    download_export,
    fhir_instant,
    start_export,
    wait_for_export,
)
from fhir_adapter.client import FhirClient, FhirError, ResourceNotFound
from fhir_adapter.connection import FhirConnection
from tests.fhir_clients import FakeClock
from tests.fhir_server import FakeFhirServer

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FakeFhirServer]:
    with FakeFhirServer() as fake:
        fake.now = T0
        yield fake


def _seed(server: FakeFhirServer) -> None:
    """Three patients, each with observations; p1 and p2 form Group g1."""
    for patient in ("p1", "p2", "p3"):
        server.put({"resourceType": "Patient", "id": patient})
        for n in range(2):
            server.put(
                {
                    "resourceType": "Observation",
                    "id": f"{patient}-o{n}",
                    "subject": {"reference": f"Patient/{patient}"},
                }
            )
    members = [{"entity": {"reference": "Patient/p1"}}, {"entity": {"reference": "Patient/p2"}}]
    server.put({"resourceType": "Group", "id": "g1", "type": "person", "member": members})


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def _kickoff_query(server: FakeFhirServer) -> dict[str, list[str]]:
    return parse_qs(urlsplit(server.requests_to("$export")[0]).query)


def test_export_kick_off_poll_download(
    server: FakeFhirServer, connect: Callable[..., FhirClient], clock: FakeClock, tmp_path: Path
) -> None:
    _seed(server)
    client = connect()
    progress: list[str] = []

    status_url = start_export(client)
    manifest = wait_for_export(client, status_url, on_progress=progress.append)
    manifest_path = download_export(client, manifest, tmp_path / "export")

    _, _, kickoff_headers = server.requests[0]
    assert kickoff_headers["prefer"] == "respond-async"
    assert kickoff_headers["accept"] == "application/fhir+json"
    assert _kickoff_query(server) == {"_outputFormat": ["application/fhir+ndjson"]}
    assert progress == ["in progress (1/2)", "in progress (2/2)"]
    assert clock.sleeps == [1.0, 1.0]  # the server's Retry-After

    local = json.loads(manifest_path.read_text())
    assert manifest_path == tmp_path / "export" / "manifest.json"
    assert local["transactionTime"] == manifest["transactionTime"] == "2024-05-01T08:00:00.000Z"
    assert [(e["type"], e["url"], e["count"]) for e in local["output"]] == [
        ("Group", "Group.001.ndjson", 1),
        ("Observation", "Observation.001.ndjson", 6),
        ("Patient", "Patient.001.ndjson", 3),
    ]
    assert local["deleted"] == [] and local["error"] == []
    assert _ids(tmp_path / "export" / "Patient.001.ndjson") == ["p1", "p2", "p3"]


def test_types_filter_and_files_split_by_size(
    server: FakeFhirServer, connect: Callable[..., FhirClient], tmp_path: Path
) -> None:
    _seed(server)
    server.export_file_size = 4
    client = connect()

    manifest = wait_for_export(client, start_export(client, types=["Observation"]))
    local = json.loads(download_export(client, manifest, tmp_path).read_text())

    assert _kickoff_query(server)["_type"] == ["Observation"]
    assert [(e["url"], e["count"]) for e in local["output"]] == [
        ("Observation.001.ndjson", 4),
        ("Observation.002.ndjson", 2),
    ]
    downloaded = _ids(tmp_path / "Observation.001.ndjson") + _ids(
        tmp_path / "Observation.002.ndjson"
    )
    assert sorted(downloaded) == sorted(f"{p}-o{n}" for p in ("p1", "p2", "p3") for n in (0, 1))


def test_group_export_covers_only_the_members(
    server: FakeFhirServer, connect: Callable[..., FhirClient], tmp_path: Path
) -> None:
    _seed(server)
    client = connect()

    status_url = start_export(client, group_id="g1", types=["Patient", "Observation"])
    local = json.loads(
        download_export(client, wait_for_export(client, status_url), tmp_path).read_text()
    )

    assert server.requests_to("/fhir/Group/g1/$export")
    assert _ids(tmp_path / "Patient.001.ndjson") == ["p1", "p2"]
    assert sorted(_ids(tmp_path / "Observation.001.ndjson")) == ["p1-o0", "p1-o1", "p2-o0", "p2-o1"]
    assert {entry["type"] for entry in local["output"]} == {"Patient", "Observation"}


def test_since_exports_changes_and_deletions(
    server: FakeFhirServer, connect: Callable[..., FhirClient], tmp_path: Path
) -> None:
    _seed(server)
    server.now = T0 + timedelta(hours=2)
    server.put({"resourceType": "Patient", "id": "p1", "active": False})
    server.delete("Observation", "p2-o0")
    client = connect()
    since = (T0 + timedelta(hours=1)).astimezone(timezone(timedelta(hours=7)))

    status_url = start_export(client, since=since, type_filters=["Patient?active=false"])
    manifest = wait_for_export(client, status_url)
    local = json.loads(download_export(client, manifest, tmp_path).read_text())

    assert _kickoff_query(server)["_since"] == ["2024-05-01T16:00:00+07:00"]
    assert _kickoff_query(server)["_typeFilter"] == ["Patient?active=false"]
    assert [e["url"] for e in local["output"]] == ["Patient.001.ndjson"]
    assert _ids(tmp_path / "Patient.001.ndjson") == ["p1"]
    assert local["deleted"] == [{"type": "Bundle", "url": "deleted.Bundle.001.ndjson", "count": 1}]
    (deletion,) = [json.loads(line) for line in (tmp_path / "deleted.Bundle.001.ndjson").open()]
    assert deletion["resourceType"] == "Bundle"
    assert deletion["entry"] == [{"request": {"method": "DELETE", "url": "Observation/p2-o0"}}]


def test_since_must_carry_a_timezone() -> None:
    assert fhir_instant("2024-05-01T08:00:00Z") == "2024-05-01T08:00:00Z"
    assert fhir_instant(T0.replace(microsecond=250000)) == "2024-05-01T08:00:00.250+00:00"
    with pytest.raises(ValueError, match="timezone"):
        fhir_instant(datetime(2024, 5, 1, 8, 0))


def test_a_refused_kick_off_reports_the_operation_outcome(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    with pytest.raises(ResourceNotFound, match="failed with 404: Group/nobody is not known"):
        start_export(connect(), group_id="nobody")


def test_status_polls_survive_a_429_and_fail_on_a_persistent_error(
    server: FakeFhirServer, connect: Callable[..., FhirClient], clock: FakeClock
) -> None:
    _seed(server)
    client = connect(max_retries=1)
    status_url = start_export(client)
    server.fail_next(1, status=429, retry_after=0, path_contains="bulkstatus")

    wait_for_export(client, status_url)

    assert clock.sleeps[0] == 0.0
    server.fail_next(5, status=500, path_contains="bulkstatus", operation_outcome="Export failed")
    with pytest.raises(FhirError, match="failed with 500 after 2 attempts: Export failed"):
        wait_for_export(client, status_url)


def test_waiting_gives_up_after_the_timeout(
    server: FakeFhirServer, connect: Callable[..., FhirClient], clock: FakeClock
) -> None:
    server.export_polls = 100
    client = connect()

    with pytest.raises(FhirError, match="export not finished after 2.5 s"):
        wait_for_export(client, start_export(client), timeout_seconds=2.5)

    assert clock.sleeps == [1.0, 1.0]


def test_a_truncated_last_line_is_passed_through(
    server: FakeFhirServer, connect: Callable[..., FhirClient], tmp_path: Path
) -> None:
    _seed(server)
    server.truncate_export_file("Observation")
    client = connect()
    manifest = wait_for_export(client, start_export(client, types=["Observation"]))

    lines = list(client.stream_lines(manifest["output"][0]["url"]))
    download_export(client, manifest, tmp_path)

    assert len(lines) == 6 and all(line.endswith(b"\n") for line in lines[:-1])
    assert not lines[-1].endswith(b"\n")
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[-1])
    assert (tmp_path / "Observation.001.ndjson").read_bytes() == b"".join(lines)


def test_a_download_resumes_where_it_stopped(
    server: FakeFhirServer, connect: Callable[..., FhirClient], tmp_path: Path
) -> None:
    _seed(server)
    client = connect(max_retries=1)
    manifest = wait_for_export(client, start_export(client, types=["Patient", "Observation"]))
    server.fail_next(2, status=503, path_contains="Patient-1.ndjson")

    with pytest.raises(FhirError, match="503 after 2 attempts"):
        download_export(client, manifest, tmp_path)
    assert not (tmp_path / "manifest.json").exists()
    assert len(server.requests_to("Observation-1.ndjson")) == 1

    download_export(client, manifest, tmp_path)
    download_export(client, manifest, tmp_path)

    assert len(server.requests_to("Observation-1.ndjson")) == 1  # finished the first time
    assert len(server.requests_to("Patient-1.ndjson")) == 3  # two failures, one success
    assert _ids(tmp_path / "Patient.001.ndjson") == ["p1", "p2", "p3"]
    assert (tmp_path / "manifest.json").exists()


def test_a_file_changed_after_download_is_fetched_again(
    server: FakeFhirServer, connect: Callable[..., FhirClient], tmp_path: Path
) -> None:
    _seed(server)
    client = connect()
    manifest = wait_for_export(client, start_export(client, types=["Patient"]))
    download_export(client, manifest, tmp_path)
    (tmp_path / "Patient.001.ndjson").write_text('{"resourceType": "Pat')  # a damaged copy

    download_export(client, manifest, tmp_path)

    assert len(server.requests_to("Patient-1.ndjson")) == 2
    assert _ids(tmp_path / "Patient.001.ndjson") == ["p1", "p2", "p3"]


def test_files_are_fetched_with_the_token_when_the_manifest_requires_it(
    clock: FakeClock, tmp_path: Path
) -> None:
    with FakeFhirServer(auth="bearer", bearer_token="tok-1") as server:
        _seed(server)
        connection = FhirConnection(server.base_url, auth="bearer", token="tok-1")
        with FhirClient(connection, sleep=clock.sleep, clock=clock) as client:
            manifest = wait_for_export(client, start_export(client, types=["Patient"]))
            download_export(client, manifest, tmp_path)

        assert manifest["requiresAccessToken"] is True
        (file_request,) = [r for r in server.requests if "bulkfiles" in r[1]]
        assert file_request[2]["authorization"] == "Bearer tok-1"
        assert _ids(tmp_path / "Patient.001.ndjson") == ["p1", "p2", "p3"]


def test_cancel_stops_the_export(
    server: FakeFhirServer, connect: Callable[..., FhirClient]
) -> None:
    _seed(server)
    client = connect()
    status_url = start_export(client)

    cancel_export(client, status_url)

    assert server.exports_cancelled == 1
    assert server.requests_to("bulkstatus", method="DELETE")
    with pytest.raises(ResourceNotFound, match="cancelled or expired"):
        wait_for_export(client, status_url)
