"""The chat-endpoint labeler: answers parsed into a class, cached, retried, and a clear fallback.
Failures come from a real HTTP server on loopback that answers 503 or goes away on purpose."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from affectlab.errors import AffectLabError
from affectlab.llm.client import ChatLabeler, LLMUnavailableError, keyword_label, parse_label

CLASSES = ["neutral", "joy", "anger"]


class Endpoint:
    """``POST /v1/chat/completions``: fails ``failures`` times with 503, then answers ``content``."""

    def __init__(self, content: str = '{"label": "joy"}', failures: int = 0) -> None:
        self.content, self.failures, self.bodies = content, failures, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                outer.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                if outer.failures > 0:
                    outer.failures -= 1
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": outer.content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    made = []

    def make(**kwargs):
        made.append(Endpoint(**kwargs))
        return made[-1]
    yield make
    for e in made:
        e.close()


def test_answers_are_parsed_into_a_class():
    assert parse_label('{"label": "Joy"}', CLASSES) == "joy"
    assert parse_label("I think this is anger, maybe joy", CLASSES) == "anger"
    assert parse_label("no idea", CLASSES) is None
    assert keyword_label("I hate this, it's stupid", CLASSES) == "anger"
    assert keyword_label("the table is brown", CLASSES, default="neutral") == "neutral"


def test_the_request_asks_for_a_json_schema_label_and_answers_are_cached(endpoint, tmp_path):
    server = endpoint()
    labeler = ChatLabeler(server.url, "tiny", cache_dir=tmp_path)
    assert labeler.label("What a day!", CLASSES).label == "joy"
    schema = server.bodies[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["label"]["enum"] == CLASSES and server.bodies[0]["temperature"] == 0
    again = ChatLabeler(server.url, "tiny", cache_dir=tmp_path).label("What a day!", CLASSES)
    assert again.source == "cache" and again.label == "joy" and len(server.bodies) == 1
    llama = ChatLabeler(server.url, "tiny", schema_style="llama")
    llama.label("x", CLASSES)
    assert server.bodies[-1]["response_format"]["type"] == "json_object" and "schema" in server.bodies[-1]["response_format"]


def test_a_busy_endpoint_is_retried_with_backoff(endpoint):
    server = endpoint(failures=2)
    answer = ChatLabeler(server.url, "tiny", retries=3, backoff=0.01).label("Great!", CLASSES)
    assert answer.source == "llm" and answer.label == "joy" and len(server.bodies) == 3


def test_a_dead_endpoint_falls_back_to_keywords_or_says_so(endpoint):
    server = endpoint()
    url = server.url
    server.close()  # nothing listens there any more
    labeler = ChatLabeler(url, "tiny", retries=1, backoff=0.01)
    answer = labeler.label("I hate mondays", CLASSES)
    assert answer.source == "keywords" and answer.label == "anger" and labeler.down
    with pytest.raises(LLMUnavailableError, match="did not answer"):
        ChatLabeler(url, "tiny", retries=0, fallback="none").label("x", CLASSES)
    with pytest.raises(AffectLabError, match="http"):
        ChatLabeler("localhost:8080", "tiny")


def test_the_keyword_default_is_used_only_when_the_scheme_has_it():
    assert keyword_label("the table is brown", ["joy", "anger"], default="neutral") is None
