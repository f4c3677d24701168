"""The web process stays responsive while notifications arrive and the FHIR server does
not answer: the app served for real by uvicorn, with its worker running beside it and
stuck on a server that accepts connections and never replies."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import uvicorn
from pydantic import SecretStr
from sqlalchemy import select

from prm.app import create_app
from prm.jobs.worker import Worker
from prm.models.integration import FhirNotification, NotificationStatus
from tests.test_fhir_notifications import SECRET, notification

HEALTHY_WITHIN_SECONDS = 1.0


class SilentServer:
    """Accepts every connection and never sends a byte back (a hung FHIR server)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/fhir"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@contextmanager
def served(app) -> Iterator[str]:
    """The app on a free port of 127.0.0.1, answering /healthz."""
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                            lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    wait_for(lambda: server.started)
    try:
        httpx.get(f"{url}/healthz", timeout=10)  # the first request's one-off costs
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def timed_health(url: str) -> float:
    started = time.perf_counter()
    response = httpx.get(f"{url}/healthz", timeout=10)
    assert response.status_code == 200
    return time.perf_counter() - started


def wait_for(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_health_answers_within_a_second_while_notifications_arrive_and_the_server_hangs(
        settings):
    silent = SilentServer()
    settings = settings.model_copy(update={
        "fhir_base_url": silent.base_url, "fhir_subscription_secret": SecretStr(SECRET),
        "fhir_timeout_seconds": 120, "fhir_sync_seconds": 0, "worker_poll_seconds": 0.1})
    app = create_app(settings, embedded_worker=False)
    # The worker `make run` embeds, started here so the test can stop it and wait for it.
    worker = Worker(app.state.engine, settings)
    worker.run_due_jobs()  # the first round (every job is due) before the clock starts
    worker_thread = threading.Thread(target=worker.run_forever, daemon=True)
    worker_thread.start()
    # Eight different notifications and two repeats of earlier ones.
    bodies = [notification(f"Patient/p{n}") for n in range(8)]
    bodies += [notification("Patient/p0", event=5), notification("Patient/p1")]
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/fhir+json"}
    try:
        with served(app) as url, ThreadPoolExecutor(max_workers=12) as pool:
            def send(body: bytes) -> int:
                return httpx.post(f"{url}/fhir/subscription", content=body, headers=headers,
                                  timeout=30).status_code

            sent = [pool.submit(send, body) for body in bodies]
            during = [timed_health(url)]
            while not all(future.done() for future in sent):
                during.append(timed_health(url))
            statuses = [future.result() for future in sent]
            # The worker is now waiting on the silent server, and the app still answers.
            wait_for(lambda: silent.accepted)
            after = [timed_health(url) for _ in range(5)]
            assert [f.result() for f in [pool.submit(send, bodies[2])]] == [202]
    finally:
        worker.stopping.set()
        silent.close()  # the worker's hung read fails now, and it stops
        worker_thread.join(timeout=30)
        app.state.engine.dispose()

    assert statuses == [202] * 10
    assert max(during) < HEALTHY_WITHIN_SECONDS
    assert max(after) < HEALTHY_WITHIN_SECONDS
    assert not worker_thread.is_alive()
    with app.state.engine.connect() as db:
        recorded = db.execute(select(FhirNotification)).all()
    assert len(recorded) == 8
    # The one the worker was reading when the server went away failed; none was lost.
    assert sorted(row.status for row in recorded) == [NotificationStatus.pending] * 8
    assert sum(row.attempts for row in recorded) == 1
