"""Which parser reads a command's output, from the command line as people write it."""

from __future__ import annotations

import pytest

from lmsdrive.parsers import resolve


@pytest.mark.parametrize(
    ("typed", "parser"),
    [
        ("OLLAMA_HOST=0.0.0.0 OLLAMA_DEBUG=1 ollama serve", "ollama serve"),
        ("sudo -E lms ls", "lms ls"),
        ("docker exec -it ollama ollama pull llama3.2", "ollama pull"),
        ("kubectl exec deploy/ollama -- ollama ps", "ollama ps"),
        ("curl -Ssf localhost:11434/api/ps", "ollama /api/ps"),
        ("curl -s http://127.0.0.1:11434/api/tags?x=1", "ollama /api/tags"),
        ("wget -qO- http://gpu-box:1234/api/v0/models", "lms /api/v0/models"),
        (
            "curl http://localhost:1234/v1/chat/completions -d @body.json",
            "lms /v1/chat/completions",
        ),
        ("GET http://localhost:1234/v1/models", "lms /v1/models"),
        ("POST /api/pull", "ollama /api/pull"),
        ("curl http://box:8080/api/v1/models/download/status/job-7", "lms /api/v1/models/download"),
        ("curl http://localhost:11434/nope", "ollama /error"),
    ],
)
def test_typed_command_lines(typed: str, parser: str) -> None:
    assert resolve(typed).name == parser


def test_a_url_no_runtime_owns_says_how_to_name_the_tool() -> None:
    with pytest.raises(ValueError, match="name the tool"):
        resolve("curl http://box:8080/health")  # not a default port, no runtime's path
    with pytest.raises(ValueError, match="unknown tool"):
        resolve("kubectl logs ollama-0")
