"""Ask a chat model for one label of a scheme, through any OpenAI-compatible endpoint
(OpenRouter, vLLM, a llama.cpp server): a JSON-schema answer, retries with backoff, answers
cached on disk, and a clear fallback when the endpoint is down."""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import httpx

from ..errors import AffectLabError, InputError

SYSTEM = ("You label the emotion a speaker expresses in one utterance. Answer with JSON only: "
          '{{"label": L}} where L is exactly one of: {classes}.')

#: words that point at a class, for the keyword fallback (a class's own name always counts)
KEYWORDS: dict[str, tuple[str, ...]] = {
    "joy": ("happy", "glad", "great", "love", "awesome", "yay", "wonderful", "thanks", "fun", "excited"),
    "sadness": ("sad", "sorry", "miss", "cry", "unhappy", "lonely", "depressed", "lost", "hurt"),
    "anger": ("angry", "hate", "mad", "stupid", "damn", "furious", "shut up", "annoying"),
    "fear": ("afraid", "scared", "terrified", "worried", "nervous", "panic", "frightened"),
    "surprise": ("wow", "what?", "really?", "oh my god", "no way", "seriously", "unbelievable"),
    "disgust": ("gross", "disgusting", "ew", "yuck", "sick", "nasty"),
    "trust": ("trust", "believe you", "count on", "rely"),
    "anticipation": ("can't wait", "soon", "hope", "looking forward", "expect"),
}


class LLMUnavailableError(AffectLabError):
    """The endpoint did not answer after every retry."""


@dataclass
class LLMAnswer:
    label: str | None     # a class of the scheme, or None (no usable answer)
    source: str           # "llm", "cache", "keywords" (fallback) or "none"
    raw: str = ""


def keyword_label(text: str, classes: Sequence[str], default: str | None = None) -> str | None:
    """The class whose keywords (or own name) occur most in ``text``; else ``default`` (e.g.
    neutral) when it is one of ``classes``, else None."""
    lowered = f" {text.lower()} "
    hits = {c: sum(lowered.count(w) for w in (c.lower(), *KEYWORDS.get(c.lower(), ()))) for c in classes}
    best = max(hits, key=hits.get)
    return best if hits[best] else default if default in classes else None


def parse_label(content: str, classes: Sequence[str]) -> str | None:
    """The class named by an answer: ``{"label": ...}`` JSON, else the first class name in the text."""
    by_lower = {c.lower(): c for c in classes}
    try:
        value = json.loads(content)
        if isinstance(value, dict):
            value = value.get("label")
        if isinstance(value, str) and value.strip().lower() in by_lower:
            return by_lower[value.strip().lower()]
    except json.JSONDecodeError:
        pass
    found = [(m.start(), by_lower[m.group(0).lower()]) for c in classes
             for m in re.finditer(rf"\b{re.escape(c)}\b", content, re.IGNORECASE)]
    return min(found)[1] if found else None


class AnswerCache:
    """Answers by (endpoint model, prompt) in one SQLite file, safe across threads and runs."""

    def __init__(self, folder: str | Path) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(Path(folder) / "llm_answers.sqlite"), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, content TEXT)")
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: object) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT content FROM answers WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, content: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, content))


class ChatLabeler:
    """``label(text, classes)`` through ``POST {url}/chat/completions``.

    ``url`` is the API root (``http://127.0.0.1:8080/v1``, ``https://openrouter.ai/api/v1``);
    temperature 0; the answer is constrained by a JSON schema whose ``label`` is an enum of the
    classes (``schema_style='openai'``: ``response_format.json_schema``; ``'llama'``: llama.cpp's
    ``json_object`` with ``schema``; ``'auto'``: OpenAI's, then llama.cpp's once an endpoint
    refuses it with 400/422). Answers are cached by (endpoint, model, text, classes). Connection errors, 429 and 5xx are retried ``retries``
    times with exponential backoff (Retry-After honoured); then ``fallback`` decides:
    ``keywords`` (a keyword match, marked as such) or ``none`` (no label)."""

    def __init__(self, url: str, model: str, api_key: str | None = None, cache_dir: str | Path | None = None,
                 retries: int = 3, backoff: float = 0.5, timeout: float = 60.0, fallback: str = "keywords",
                 schema_style: str = "auto", default_class: str | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"--llm-url must be an http(s) URL of an OpenAI-compatible API root, got {url!r}")
        if fallback not in ("keywords", "none"):
            raise InputError(f"fallback must be 'keywords' or 'none', got {fallback!r}")
        if schema_style not in ("auto", "openai", "llama"):
            raise InputError(f"schema style must be 'auto', 'openai' or 'llama', got {schema_style!r}")
        self.url, self.model, self.retries, self.backoff = url.rstrip("/"), model, retries, backoff
        self.fallback, self.schema_style, self.default_class = fallback, schema_style, default_class
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=timeout, headers=headers)
        self.cache = AnswerCache(cache_dir) if cache_dir else None
        self.down = False  # set once every retry failed: later rows fall back at once

    def _body(self, text: str, classes: Sequence[str]) -> dict:
        schema = {"type": "object", "properties": {"label": {"type": "string", "enum": list(classes)}},
                  "required": ["label"], "additionalProperties": False}
        response_format = ({"type": "json_schema", "json_schema": {"name": "emotion", "schema": schema, "strict": True}}
                           if self.schema_style != "llama" else {"type": "json_object", "schema": schema})
        return {"model": self.model, "temperature": 0, "max_tokens": 32, "response_format": response_format,
                "messages": [{"role": "system", "content": SYSTEM.format(classes=", ".join(classes))},
                             {"role": "user", "content": text}]}

    def _ask(self, body: dict) -> str:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                response = self._http.post(f"{self.url}/chat/completions", json=body)
                if response.status_code >= 400 and "response_format" in response.text:
                    # llama.cpp's server answers an unknown response_format with 500, not 422
                    raise _Refused(422, response.text[:300])
                if response.status_code == 429 or response.status_code >= 500:
                    wait = float(response.headers.get("Retry-After", delay) or delay)
                    raise httpx.HTTPStatusError(f"{response.status_code}", request=response.request,
                                                response=response) if attempt == self.retries else _Retry(wait)
                if response.status_code >= 400:
                    raise _Refused(response.status_code, response.text[:300])
                return response.json()["choices"][0]["message"]["content"] or ""
            except _Retry as retry:
                time.sleep(min(retry.wait, 30.0))
            except (httpx.TransportError, httpx.HTTPStatusError) as error:
                if attempt == self.retries:
                    raise LLMUnavailableError(f"the LLM endpoint {self.url} did not answer after "
                                              f"{self.retries + 1} tries ({error})") from None
                time.sleep(delay)
            except (KeyError, IndexError, ValueError) as error:
                raise LLMUnavailableError(f"the LLM endpoint {self.url} answered something that is not a chat "
                                          f"completion ({error})") from None
            delay *= 2
        raise LLMUnavailableError(f"the LLM endpoint {self.url} did not answer")

    def label(self, text: str, classes: Sequence[str]) -> LLMAnswer:
        body = self._body(text, classes)
        key = AnswerCache.key(self.url, self.model, text, list(classes))
        cached = self.cache.get(key) if self.cache else None
        if cached is not None:
            return LLMAnswer(parse_label(cached, classes), "cache", cached)
        if not self.down:
            try:
                try:
                    content = self._ask(body)
                except _Refused as refused:
                    if not (self.schema_style == "auto" and refused.status in (400, 422)):
                        raise InputError(f"the LLM endpoint refused the request ({refused.status}): "
                                         f"{refused.text}") from None
                    self.schema_style = "llama"  # llama.cpp's server: json_object with a schema
                    return self.label(text, classes)
            except LLMUnavailableError:
                if self.fallback == "none":
                    raise
                self.down = True
            else:
                if self.cache:
                    self.cache.put(key, content)
                return LLMAnswer(parse_label(content, classes), "llm", content)
        label = keyword_label(text, classes, self.default_class) if self.fallback == "keywords" else None
        return LLMAnswer(label, "keywords" if label is not None else "none")

    def close(self) -> None:
        self._http.close()


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        self.status, self.text = status, text


class _Retry(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait
