"""The demo's HTTP client against real servers: the live API, a closed port, and a server that refuses keys."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from demo_app.cards import parse_models
from demo_app.client import ApiAuthError, ApiClient, ApiRejectedError, ApiUnavailableError
from tests.demo.conftest import ODD_BATCH_ROWS
from tests.demo.servers import free_port


class _KeyCheckingHandler(BaseHTTPRequestHandler):
    """Answers like an API behind a key check: 401 without X-API-Key, 403 with a wrong one."""

    def do_GET(self) -> None:
        key = self.headers.get("X-API-Key")
        status = 401 if key is None else 403 if key != "right" else 200
        body = (
            {"error": "unauthorized", "message": "missing or wrong API key", "details": [], "request_id": "r1"}
            if status != 200
            else []
        )
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def key_checking_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeyCheckingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_client_reads_every_model_card_from_the_live_api(client: ApiClient):
    models = parse_models(client.fetch_models())
    assert {m.name for m in models} == {"flight-delay", "fuel-economy", "penguins"}
    assert all(m.ready and m.card is not None and m.card.features for m in models)


def test_client_measures_the_round_trip(client: ApiClient, cards):
    reply = client.predict("penguins", cards["penguins"].examples[0])
    assert 0 < reply.seconds < 30
    assert reply.request_id == reply.data["request_id"]


def test_client_rejected_input_carries_the_apis_per_field_details(client: ApiClient, cards):
    row = cards["flight-delay"].examples[0] | {"dest": "LAXX"}
    with pytest.raises(ApiRejectedError) as caught:
        client.predict("flight-delay", row)
    assert caught.value.status == 422
    (detail,) = caught.value.details
    assert detail.field == "dest" and detail.hint == "did you mean 'LAX'?"


def test_client_unknown_model_is_a_rejection_not_a_crash(client: ApiClient):
    with pytest.raises(ApiRejectedError) as caught:
        client.predict("no-such-model", {})
    assert caught.value.status == 404


def test_client_batch_limit_comes_from_the_apis_own_schema(client: ApiClient, odd_client: ApiClient, odd_card):
    assert client.batch_limit("penguins") == 1000  # MAX_BATCH_ROWS's default
    assert odd_client.batch_limit(odd_card.name) == ODD_BATCH_ROWS


def test_client_closed_port_is_unavailable_not_an_error_page():
    with ApiClient(f"http://127.0.0.1:{free_port()}") as closed, pytest.raises(ApiUnavailableError, match="connect"):
        closed.fetch_models()


def test_client_refused_key_is_an_auth_error_with_the_fix(key_checking_server: str):
    with ApiClient(key_checking_server) as keyless, pytest.raises(ApiAuthError, match=r"HTTP 401.*Set API_KEY"):
        keyless.fetch_models()
    with ApiClient(key_checking_server, api_key="wrong") as wrong, pytest.raises(ApiAuthError, match="HTTP 403"):
        wrong.fetch_models()
    with ApiClient(key_checking_server, api_key="right") as right:
        assert right.fetch_models() == []


def test_client_a_wrong_api_url_is_reported_not_retried(live_api):
    with ApiClient(f"{live_api.url}/health") as wrong, pytest.raises(ApiRejectedError) as caught:
        wrong.fetch_models()
    assert caught.value.status == 404


def test_client_an_answer_that_is_not_the_model_list_is_refused(live_api):
    ready = requests.get(f"{live_api.url}/ready", timeout=10).json()  # JSON, but not GET /models' list
    with pytest.raises(ValueError, match="is API_URL the freeport API"):
        parse_models(ready)
