from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsdrive.config import Config, parse_ollama_host
from lmsdrive.errors import ConfigError, InvalidModelNameError, LmsdriveError
from lmsdrive.model_ref import ModelRef


@pytest.mark.parametrize(
    ("value", "url"),
    [
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("  '0.0.0.0'  ", "http://127.0.0.1:11434"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        ("myhost:8080", "http://myhost:8080"),
        ("myhost", "http://myhost:11434"),
        (":9999", "http://127.0.0.1:9999"),
        ("[::1]", "http://[::1]:11434"),
        ("[::]:8080", "http://127.0.0.1:8080"),
        ("http://myhost", "http://myhost:80"),
        ("https://myhost", "https://myhost:443"),
        ("HTTP://box:1", "http://box:1"),
        ("https://myhost:8443/some/path/", "https://myhost:8443/some/path"),
        ("ollama.com", "https://ollama.com:443"),
    ],
)
def test_ollama_host_forms(value: str | None, url: str) -> None:
    assert parse_ollama_host(value) == url


@pytest.mark.parametrize("value", ["myhost:99999", "myhost:abc", "ftp://x", "a b", "[::1"])
def test_ollama_host_invalid_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="OLLAMA_HOST"):
        parse_ollama_host(value)


def test_from_env_defaults() -> None:
    cfg = Config.from_env({})
    assert (cfg.backend, cfg.model_name, cfg.model_source) == ("ollama", None, "ollama")
    assert cfg.backend_url() == "http://127.0.0.1:11434"
    assert Config.from_env({"BACKEND": "lmstudio"}).backend_url() == "http://localhost:1234"


def test_from_env_reads_every_variable() -> None:
    cfg = Config.from_env(
        {
            "BACKEND": "LMStudio",
            "MODEL_NAME": "qwen/qwen3-8b@q4_k_m",
            "LMSTUDIO_URL": "http://10.0.0.2:4321/",
            "OLLAMA_HOST": ":1",
        }
    )
    assert cfg.backend == "lmstudio"
    assert cfg.backend_url() == "http://10.0.0.2:4321"
    assert cfg.model_for_backend() == "qwen/qwen3-8b@q4_k_m"


def test_huggingface_source_gives_hf_names_on_ollama() -> None:
    cfg = Config.from_env(
        {"MODEL_NAME": "bartowski/Foo-GGUF@Q4_K_M", "MODEL_SOURCE": "huggingface"}
    )
    assert cfg.model_for_backend() == "hf.co/bartowski/Foo-GGUF:Q4_K_M"


def test_bad_backend_lists_choices() -> None:
    with pytest.raises(ConfigError, match=r"ollama, lmstudio"):
        Config.from_env({"BACKEND": "vllm"})
    with pytest.raises(ConfigError, match="MODEL_SOURCE"):
        Config.from_env({"MODEL_SOURCE": "s3"})


@pytest.mark.parametrize(
    "url", ["localhost:1234", "ftp://x:1", "http://", "http://h:0", "http://h:x"]
)
def test_bad_lmstudio_url_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="LMSTUDIO_URL"):
        Config.from_env({"BACKEND": "lmstudio", "LMSTUDIO_URL": url})


def test_url_override_is_named_in_errors() -> None:
    with pytest.raises(ConfigError, match="--url"):
        Config.from_env({}, backend="lmstudio", url="nope")


@pytest.mark.parametrize(
    ("name", "ollama", "lmstudio"),
    [
        ("llama3.2", "llama3.2", "llama3.2"),
        ("llama3.2:3b", "llama3.2:3b", "llama3.2@3b"),
        ("hf.co/u/r", "hf.co/u/r", "u/r"),
        ("hf.co/u/r:Q4_K_M", "hf.co/u/r:Q4_K_M", "u/r@Q4_K_M"),
        ("https://huggingface.co/u/r", "hf.co/u/r", "u/r"),
        ("u/r@Q8_0", "u/r:Q8_0", "u/r@Q8_0"),
        ("registry.example.com/ns/m:1", "registry.example.com/ns/m:1", "ns/m@1"),
    ],
)
def test_model_ref_forms(name: str, ollama: str, lmstudio: str) -> None:
    ref = ModelRef.parse(name)
    assert ref.for_ollama() == ollama
    assert ref.for_lmstudio() == lmstudio
    assert ModelRef.parse(str(ref)) == ref


def test_conversion_round_trip() -> None:
    ref = ModelRef.parse("hf.co/u/r:Q4_K_M")
    back = ModelRef.parse(ref.for_lmstudio()).for_ollama(source="huggingface")
    assert back == "hf.co/u/r:Q4_K_M"


@pytest.mark.parametrize(
    "name",
    ["", "-", "--help", "-rf", "a b", "x\ty", "m\x00", "m\n", "hf.co/", "a/b/c/d", "a:b:c", "a;rm"],
)
def test_model_ref_refuses(name: str) -> None:
    with pytest.raises(InvalidModelNameError, match="Accepted forms"):
        ModelRef.parse(name)


def test_flag_like_name_says_why() -> None:
    with pytest.raises(ValueError, match="flag"):
        ModelRef.parse("--help")


def test_matching_listed_names() -> None:
    assert ModelRef.parse("llama3.2").matches_ollama("llama3.2:latest")
    assert not ModelRef.parse("llama3.2:1b").matches_ollama("llama3.2:latest")
    assert ModelRef.parse("qwen/qwen3-8b").matches_lmstudio("qwen/qwen3-8b")
    assert ModelRef.parse("qwen/qwen3-8b@q4_k_m").matches_lmstudio("qwen/qwen3-8b@q4_k_m")


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_model_ref_never_raises_anything_else(name: str) -> None:
    try:
        ref = ModelRef.parse(name)
    except LmsdriveError as exc:
        assert isinstance(exc, InvalidModelNameError)
        return
    rendered = [ref.for_ollama(), ref.for_lmstudio(), ref.for_ollama("huggingface")]
    for r in rendered:
        assert not r.startswith("-")
        assert not any(c.isspace() for c in r)


@pytest.mark.parametrize(
    "value", ["-h", "-h:1", "host/a b", "host/a\nb", "host/`id`", "host/\x00", "'a b'"]
)
def test_ollama_host_refuses_flags_and_non_url_characters(value: str) -> None:
    with pytest.raises(ConfigError, match="OLLAMA_HOST"):
        parse_ollama_host(value)


@pytest.mark.parametrize(
    "url", ["http://-x:1234", "http://x:1234/\x00", "http://x:1234; rm -rf /", "http://x:1/`id`"]
)
def test_lmstudio_url_refuses_flags_and_non_url_characters(url: str) -> None:
    with pytest.raises(ConfigError, match="LMSTUDIO_URL"):
        Config.from_env({"BACKEND": "lmstudio", "LMSTUDIO_URL": url})
