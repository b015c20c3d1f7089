"""The fakes' outputs against recorded ones, read directly (never through lmsdrive's parsers,
which these outputs test): ``ollama list`` rows byte for byte, and the fake servers' HTTP
bodies field by field against every recorded (non-synthetic) body of the same route."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lmsdrive.golden import DEFAULT_ROOT, Fixture, iter_fixtures
from lmsdrive.testing import FakeRuntime
from lmsdrive.testing.fake_state import Model

# ----- `ollama list` ------------------------------------------------------------------------

#: Recordings of `ollama list` in the fake's era (4-space column gaps), with rows to rebuild.
LIST_RECORDINGS = ["gh11540-fish"]


def _recorded(path: str) -> Fixture:
    want = DEFAULT_ROOT / path
    return next(f for f in iter_fixtures(want.parent) if f.path == want)


@pytest.mark.parametrize("name", LIST_RECORDINGS)
def test_fake_ollama_list_prints_the_recorded_rows(name: str) -> None:
    fx = _recorded(f"ollama/list/{name}.txt")
    rows: list[dict[str, Any]] = fx.meta["expected"]
    ago = {"11 days ago": 11 * 86400}
    # a size as shown ("6.0 GB") is rounded: the real one was not a round number of bytes
    now = time.time()
    with FakeRuntime(backends=("ollama",), server_running=True) as rt:
        with rt.edit() as st:
            st.ollama.downloaded = [
                Model(
                    r["name"],
                    r["size_bytes"] + 1,
                    r["id"] + "0" * 52,
                    now - ago[r["modified"]] - i,  # the recorded order: newest first
                )
                for i, r in enumerate(rows)
            ]
        got = subprocess.run(
            [str(rt.bin_dir / "ollama"), "list"], env=rt.env, capture_output=True, check=True
        ).stdout.decode()
    lines = fx.stdout.splitlines()
    recorded = lines[lines.index(next(x for x in lines if x.startswith("NAME"))) :]
    # a paste keeps no trailing blanks: the columns, gaps and order are compared exactly
    assert [x.rstrip() for x in got.splitlines()] == [x.rstrip() for x in recorded]


# ----- HTTP bodies ------------------------------------------------------------------------


def _fields(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every field of a JSON value as ``(path, JSON type)``; the items of a list merged."""
    kind = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
    if isinstance(value, dict):
        yield path or "$", "object"
        for k, v in value.items():
            yield from _fields(v, f"{path}.{k}")
    elif isinstance(value, list):
        yield path or "$", "array"
        for item in value:
            yield from _fields(item, f"{path}[]")
    else:
        yield path or "$", kind


def _recorded_fields(route_dir: str) -> tuple[set[tuple[str, str]], list[str]]:
    """The fields of every real (non-synthetic) body recorded for a route, and their names."""
    found: set[tuple[str, str]] = set()
    names = []
    for fx in iter_fixtures(DEFAULT_ROOT / route_dir):
        if fx.meta.get("synthetic") or fx.meta.get("http_status", 200) not in (200, None):
            continue
        try:
            body = json.loads(fx.stdout)
        except ValueError:
            continue
        found |= set(_fields(body))
        names.append(fx.path.stem)
    return found, names


#: Fields the fake sends that no real recorded body of the route shows, and the source that
#: documents them.
DOCUMENTED_ONLY = {
    # 0.3.16+ (LM Studio docs api-changelog: v0 GET /models lists "capabilities": ["tool_use"]);
    # the recordings predate it
    "lms/api-v0-models": {(".data[].capabilities", "array"), (".data[].capabilities[]", "string")},
    # v0.10.0+ (api/types.go history; the fake is 0.12.3): the recording predates it
    "ollama/api-ps": {(".models[].context_length", "integer")},
}
#: A reply that calls a tool, as the real llama.cpp server recorded it (llamacpp-tiny-tool-call).
TOOL_CALL_FIELDS = {
    (".choices[].message.tool_calls", "array"),
    (".choices[].message.tool_calls[]", "object"),
    (".choices[].message.tool_calls[].function", "object"),
    (".choices[].message.tool_calls[].function.arguments", "string"),
    (".choices[].message.tool_calls[].function.name", "string"),
    (".choices[].message.tool_calls[].id", "string"),
    (".choices[].message.tool_calls[].type", "string"),
}
#: What llama.cpp alone adds to such a reply: the legacy ``function_call`` twin and a null
#: ``content``; no LM Studio body recorded or documented shows either.
LLAMACPP_TOOL_CALL_EXTRAS = {
    (".choices[].message.content", "null"),
    (".choices[].message.function_call", "object"),
    (".choices[].message.function_call.arguments", "string"),
    (".choices[].message.function_call.name", "string"),
}
#: Recorded fields the fake may leave out, and why.
SITUATIONAL = {
    # a mixture-of-experts model's load setting; the fake's models are dense
    "lms/api-v1-models": {(".models[].loaded_instances[].config.num_experts", "integer")},
    # a reply that calls a tool: this case asks none (test_fake_tool_call_reply below does)
    "lms/api-chat": TOOL_CALL_FIELDS | LLAMACPP_TOOL_CALL_EXTRAS,
}

Q = "qwen/qwen3-4b"
G = "google/gemma-3-12b"
E = "text-embedding-nomic-embed-text-v1.5"
CASES = {
    # route directory: (server, method, path, request body)
    "lms/api-v0-models": ("lms", "GET", "/api/v0/models", None),
    "lms/api-models": ("lms", "GET", "/v1/models", None),
    "lms/api-v1-models": ("lms", "GET", "/api/v1/models", None),
    "lms/api-chat": (
        "lms",
        "POST",
        "/v1/chat/completions",
        {"model": Q, "messages": [{"role": "user", "content": "hi"}]},
    ),
    "ollama/api-ps": ("ollama", "GET", "/api/ps", None),
}


@pytest.mark.parametrize("lms_jit", [False, True], ids=["jit-off", "jit-on"])
@pytest.mark.parametrize("route", sorted(CASES))
def test_fake_http_bodies_have_the_recorded_fields(route: str, lms_jit: bool) -> None:
    server, method, path, body = CASES[route]
    recorded, names = _recorded_fields(route)
    assert names, f"no real body recorded for {route}"
    with FakeRuntime(
        server_running=True,
        models_downloaded={"lms": [Q, G, E], "ollama": ["llama3.2:3b"]},
        models_loaded={"lms": [Q], "ollama": ["llama3.2:3b"]},
        lms_jit=lms_jit,
    ) as rt:
        answer = httpx.request(method, rt.url(server) + path, json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    fake = set(_fields(answer.json()))
    missing = recorded - fake - SITUATIONAL.get(route, set())
    invented = fake - recorded - DOCUMENTED_ONLY.get(route, set())
    assert not missing, f"recorded in {names}, not sent by the fake"
    assert not invented, f"sent by the fake, recorded nowhere in {names}"


#: Recorded model lists whose notes say whether JIT loading was on: (route, JIT on, the
#: models loaded then). With JIT (LM Studio's default) every downloaded model is listed.
JIT_RECORDINGS = {
    "lms/api-models/ebal-jit.txt": ("/v1/models", True, []),
    "lms/api-v0-models/bugtracker-816-loaded-only.txt": (
        "/api/v0/models",
        False,
        ["gemma-3n-e4b-it-mlx"],
    ),
}


@pytest.mark.parametrize("path", sorted(JIT_RECORDINGS))
def test_fake_lists_the_recorded_models_with_jit_as_recorded(path: str) -> None:
    """The fake's default (no ``lms_jit`` given) is the JIT of the recording that had it on:
    the ids it lists are the recorded ones, and for ``/api/v0/models`` their states; with JIT
    off, a model downloaded but not loaded is not listed."""
    route, jit, loaded = JIT_RECORDINGS[path]
    recorded = json.loads(_recorded(path).stdout)["data"]
    ids = [m["id"] for m in recorded]
    unlisted = [] if jit else [G]  # downloaded, not loaded: listed only with JIT
    knobs: dict[str, Any] = {} if jit else {"lms_jit": False}
    with FakeRuntime(
        server_running=True,
        models_downloaded={"lms": ids + unlisted},
        models_loaded={"lms": loaded},
        **knobs,
    ) as rt:
        listed = httpx.get(rt.url("lms") + route, timeout=30).json()["data"]
    assert sorted(m["id"] for m in listed) == sorted(ids)
    if route == "/api/v0/models":
        assert {m["id"]: m["state"] for m in listed} == {m["id"]: m["state"] for m in recorded}


def test_fake_tool_call_reply_has_the_recorded_tool_fields() -> None:
    """A chat that offers a tool the model calls: the fake LM Studio answers with every field
    of the real recorded tool call (llama.cpp's legacy extras aside)."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    recorded, _ = _recorded_fields("lms/api-chat")
    assert recorded >= TOOL_CALL_FIELDS  # the recording still shows what this test expects
    with FakeRuntime(server_running=True, models_loaded={"lms": [Q]}) as rt:
        body = {"model": Q, "messages": [{"role": "user", "content": "Paris?"}], "tools": tools}
        answer = httpx.post(rt.url("lms") + "/v1/chat/completions", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    fake = set(_fields(answer.json()))
    assert TOOL_CALL_FIELDS - fake == set()
    assert answer.json()["choices"][0]["finish_reason"] == "tool_calls"
