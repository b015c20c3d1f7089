"""Ollama's native HTTP API (default ``http://127.0.0.1:11434``, or ``OLLAMA_HOST``).

``/`` (health), ``/api/version``, ``/api/tags``, ``/api/ps``, ``/api/pull`` (NDJSON progress),
``/api/generate`` (load = empty prompt with ``keep_alive``; unload = ``keep_alive: 0``;
generation plain or NDJSON-streamed, ``options.temperature`` and ``options.num_predict``),
``DELETE /api/delete`` (200 with an empty body).

Bodies are read by :mod:`lmsdrive.parsers` ``ollama_api_version``, ``ollama_api_tags``,
``ollama_api_ps``, ``ollama_api_pull``, ``ollama_api_generate`` and ``ollama_api_error``.
Errors: an HTTP error status or an ``{"error": ...}`` body (also the last line of a stream
that failed after it started, sent with HTTP 200) raise :class:`~lmsdrive.errors.APIError`
(:class:`~lmsdrive.errors.ModelNotFoundError` for a missing model, and
:class:`~lmsdrive.errors.PullError` for a failed download), with the status code, the
server's message and the URL.

No installable server speaks this API, so the tests run it against ``httpx.MockTransport``
and the fake runtime of :mod:`lmsdrive.testing`, in the shapes the reference records.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import httpx

from .._types import ToolCall
from ..errors import (
    APIError,
    AuthenticationError,
    LmsdriveError,
    ModelNotFoundError,
    ParseError,
    PullError,
    pull_failed_hint,
)
from ..parsers import (
    ollama_api_chat,
    ollama_api_embed,
    ollama_api_error,
    ollama_api_generate,
    ollama_api_manifest,
    ollama_api_ps,
    ollama_api_pull,
    ollama_api_show,
    ollama_api_tags,
    ollama_api_version,
)
from ..parsers._base import Progress, Result
from ..runtimes.ollama import OLLAMA
from ..transcript import Transcript
from ._client import (
    BaseAPI,
    ChatReply,
    ChatStream,
    Generation,
    GenerationStream,
    ResultStream,
    api_error,
)
from ._messages import ollama_messages

__all__ = ["DEFAULT_URL", "OllamaAPI", "PullStream"]

DEFAULT_URL = "http://127.0.0.1:11434"

R = TypeVar("R", bound=Result)
KeepAlive = str | int | float
#: A chat message: ``{"role": "system" | "user" | "assistant", "content": "..."}``.
Message = Mapping[str, Any]
#: Structured output: ``"json"`` or a JSON schema.
Format = str | dict[str, Any]
#: Ollama's ``think``: on/off, or a level (``"low"``, ``"medium"``, ``"high"``, ``"max"``).
Think = bool | str

#: Progress events of ``/api/pull``; ``result`` is the parsed outcome once exhausted.
PullStream = ResultStream[Progress, ollama_api_pull.OllamaApiPullResult]


class OllamaAPI(BaseAPI):
    """A pooled client of one Ollama server."""

    backend: ClassVar[str] = "Ollama"
    start_hint: ClassVar[str] = (
        "start it with `ollama serve` (or the Ollama app), or set OLLAMA_HOST to where it listens"
    )
    url_variable: ClassVar[str] = "OLLAMA_HOST"
    expected_server: ClassVar[str] = "an Ollama server (OLLAMA_HOST)"
    token_variables: ClassVar[tuple[str, ...]] = OLLAMA.token_variables

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        api_token: str | None = None,
    ) -> None:
        super().__init__(
            base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            transport=transport,
            api_token=api_token,
        )

    # -- error handling ---------------------------------------------------------------

    def _error_report(self, transcript: Transcript) -> tuple[str, str | None]:
        err = ollama_api_error.parse(transcript)
        return err.error or "error", err.kind

    # -- endpoints --------------------------------------------------------------------

    def is_running(self, timeout: float | None = None) -> bool:
        """Whether Ollama answers ``GET /`` with ``Ollama is running``; connection
        failures, timeouts and other programs on the port are ``False``."""
        try:
            response = self._get_quick("/", timeout)
            if self._answers_with_auth(response):
                return True
            return response.status_code == 200 and "ollama" in response.text.lower()
        except (ConnectionError, TimeoutError):
            return False

    def version(self) -> str | None:
        """``GET /api/version`` (v0.1.14+): the server's version."""
        return self._read(self._get_quick("/api/version"), ollama_api_version.parse).version

    def tags(self) -> ollama_api_tags.OllamaApiTagsResult:
        """``GET /api/tags``: the downloaded models."""
        return self._read(self._get_quick("/api/tags"), ollama_api_tags.parse)

    def ps(self) -> ollama_api_ps.OllamaApiPsResult:
        """``GET /api/ps`` (v0.1.38+): the models loaded in memory."""
        return self._read(self._get_quick("/api/ps"), ollama_api_ps.parse)

    def pull(self, name: str, *, insecure: bool = False) -> PullStream:
        """``POST /api/pull``: a :class:`Progress` event per NDJSON object as it arrives.

        The stream raises :class:`PullError` (or :class:`ModelNotFoundError` when the
        registry has no such model) once the server reports a failure (after yielding
        its ``phase="error"`` event), and when the body ends before ``success``.
        """
        body: dict[str, Any] = {"model": name, "name": name, "stream": True}
        if insecure:
            body["insecure"] = True
        return ResultStream(self._pull(name, body))

    def _pull(
        self, name: str, body: dict[str, Any]
    ) -> Generator[Progress, None, ollama_api_pull.OllamaApiPullResult]:
        path = "/api/pull"
        with self._open_stream("POST", path, json=body) as response:
            url = str(response.request.url)
            if response.status_code >= 400:
                raise self._pull_error(name, self._error(response, self._read_text(response, path)))
            reader = ollama_api_pull.ApiPullReader(response.status_code)
            try:
                for line in self._iter_lines(response, path):
                    yield from reader.feed(line + "\n")
                yield from reader.close()
            except ParseError as e:
                raise self._unreadable(url, e, response.status_code) from e
        result = reader.result()
        if result.error is not None:
            raise self._pull_error(name, api_error(result.error, None, result.kind, url))
        if result.outcome != "success":
            raise PullError(
                f"the download of {name} from {url} ended before it finished (last status: "
                f"{result.final_status!r}): is the server still running? Retry the pull"
            )
        return result

    @staticmethod
    def _pull_error(name: str, error: LmsdriveError) -> LmsdriveError:
        if isinstance(error, ModelNotFoundError):
            return ModelNotFoundError(
                f"{name} is not in the registry: {error}. Check the name and tag "
                "(https://ollama.com/library)",
                model=name,
                detail=str(error),
            )
        if isinstance(error, AuthenticationError) and error.status_code is not None:
            return error  # the server's own 401/403: the message names the variable
        if isinstance(error, AuthenticationError):  # an error line in the stream
            return AuthenticationError(
                f"pulling {name} failed: {error}: the server or its registry wants a token; "
                "check OLLAMA_API_KEY (or --token-file)",
                error.status_code,
            )
        return PullError(f"pulling {name} failed: {error}. {pull_failed_hint(str(error))}")

    def load(
        self,
        model: str,
        *,
        keep_alive: KeepAlive = "5m",
        options: Mapping[str, Any] | None = None,
    ) -> ollama_api_generate.OllamaApiGenerateResult:
        """Load ``model`` into memory: ``/api/generate`` with an empty prompt
        (``done_reason`` is ``"load"``). ``keep_alive``: a Go duration (``"5m"``), seconds,
        or negative for ever; ``options``: model options such as ``num_ctx``."""
        body: dict[str, Any] = {
            "model": model,
            "prompt": "",
            "keep_alive": keep_alive,
            "stream": False,
        }
        if options:
            body["options"] = dict(options)
        return self._read(self._send("POST", "/api/generate", json=body), ollama_api_generate.parse)

    def unload(self, model: str) -> ollama_api_generate.OllamaApiGenerateResult:
        """Unload ``model`` now (``keep_alive: 0``; ``done_reason`` ``"unload"`` on v0.3.11+)."""
        body = {"model": model, "prompt": "", "keep_alive": 0, "stream": False}
        return self._read(self._send("POST", "/api/generate", json=body), ollama_api_generate.parse)

    def delete(self, model: str) -> None:
        """``DELETE /api/delete``: remove ``model`` from the server's disk. Success is HTTP
        200 with an empty body (nothing to parse); a missing model is 404 ``{"error":
        "model 'x' not found"}`` (:class:`ModelNotFoundError`). ``name`` is sent too, for
        servers older than the ``model`` field."""
        response = self._send("DELETE", "/api/delete", json={"model": model, "name": model})
        if response.status_code >= 400:
            raise self._error(response)

    @staticmethod
    def _options(
        temperature: float | None, max_tokens: int | None, options: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """``options``: only what the caller set (the model's own defaults otherwise)."""
        opts: dict[str, Any] = {}
        if temperature is not None:
            opts["temperature"] = temperature
        if max_tokens is not None:
            opts["num_predict"] = max_tokens
        if options:
            opts.update(options)
        return {"options": opts} if opts else {}

    @classmethod
    def _generate_body(
        cls,
        model: str,
        prompt: str,
        temperature: float | None,
        max_tokens: int | None,
        stream: bool,
        keep_alive: KeepAlive | None,
        options: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "prompt": prompt, "stream": stream}
        body.update(cls._options(temperature, max_tokens, options))
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        return body

    def generate(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stream: bool = False,
        keep_alive: KeepAlive | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Generation:
        """``POST /api/generate``: the whole answer (``temperature``/``max_tokens`` unset: the
        model's own defaults, nothing sent). ``stream=True`` reads it as NDJSON
        (the read timeout then applies between tokens rather than to the whole answer)."""
        if stream:
            return self.generate_stream(
                model,
                prompt,
                temperature=temperature,
                max_tokens=max_tokens,
                keep_alive=keep_alive,
                options=options,
            ).drain()
        body = self._generate_body(
            model, prompt, temperature, max_tokens, False, keep_alive, options
        )
        result = self._read(
            self._send("POST", "/api/generate", json=body), ollama_api_generate.parse
        )
        return _generation(result, model)

    def generate_stream(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> GenerationStream:
        """``POST /api/generate`` streamed: the text pieces as they arrive;
        :attr:`~GenerationStream.result` holds the whole answer once exhausted."""
        body = self._generate_body(
            model, prompt, temperature, max_tokens, True, keep_alive, options
        )
        return GenerationStream(self._generate_chunks(body, model))

    def _generate_chunks(
        self, body: dict[str, Any], model: str
    ) -> Generator[str, None, Generation]:
        chunks = self._text_chunks("/api/generate", body, ollama_api_generate.GenerateReader)
        result = yield from _text_only(chunks)
        assert isinstance(result, ollama_api_generate.OllamaApiGenerateResult)
        return _generation(result, model)

    def _text_chunks(
        self,
        path: str,
        body: dict[str, Any],
        make_reader: Callable[[int], ollama_api_generate.GenerateReader],
    ) -> Generator[str | ToolCall, None, Result]:
        """The answer pieces of a streamed ``/api/generate`` or ``/api/chat`` (and each tool
        call as its object arrives); returns the reader's result once the final (done)
        object arrived."""
        with self._open_stream("POST", path, json=body) as response:
            url = str(response.request.url)
            if response.status_code >= 400:
                raise self._error(response, self._read_text(response, path))
            reader = make_reader(response.status_code)

            def objects() -> Iterator[ollama_api_generate.GenerateChunk]:
                for line in self._iter_lines(response, path):
                    yield from reader.feed(line + "\n")
                yield from reader.close()

            try:
                for chunk in objects():
                    if chunk.error is not None:
                        kind = reader.result().kind
                        raise api_error(chunk.error, response.status_code, kind, url)
                    if chunk.response:
                        yield chunk.response
                    if isinstance(reader, ollama_api_chat.ChatReader):
                        yield from tool_calls(reader.take_tool_calls())
            except ParseError as e:
                raise self._unreadable(url, e, response.status_code) from e
        result = reader.result()
        if not result.done:
            raise APIError(
                f"{self.backend} at {url} ended the stream before its last (done) object: "
                "is the server still running? Check its log",
                response.status_code,
            )
        return result

    # -- chat, embeddings, model metadata (/api/chat, /api/embed, /api/show) ----------------

    @classmethod
    def _chat_body(
        cls,
        model: str,
        messages: Sequence[Message],
        temperature: float | None,
        max_tokens: int | None,
        stream: bool,
        format: Format | None,
        think: Think | None,
        options: Mapping[str, Any] | None,
        keep_alive: KeepAlive | None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": ollama_messages(messages),
            "stream": stream,
            **cls._options(temperature, max_tokens, options),
        }
        if tools:
            body["tools"] = [dict(t) for t in tools]
        if format is not None:
            body["format"] = format
        if think is not None:
            body["think"] = think
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        return body

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        format: Format | None = None,
        think: Think | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> ChatReply:
        """``POST /api/chat`` (not streamed): the whole answer. ``format``: ``"json"`` or a
        JSON schema (Ollama v0.5.0+ enforces it); ``think``: ``True``/``False`` or a level
        (``"low"``, ``"medium"``, ``"high"``), the trace kept in :attr:`ChatReply.thinking`;
        ``tools``: function schemas, the calls in :attr:`ChatReply.tool_calls`."""
        body = self._chat_body(
            model,
            messages,
            temperature,
            max_tokens,
            False,
            format,
            think,
            options,
            keep_alive,
            tools,
        )
        result = self._read(self._send("POST", "/api/chat", json=body), ollama_api_chat.parse)
        return _chat_reply(result, model, format)

    def chat_stream(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        format: Format | None = None,
        think: Think | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> ChatStream:
        """``POST /api/chat`` streamed (NDJSON): the answer's pieces as they arrive (the
        thinking pieces are not yielded; they are in the result's ``thinking``), and each
        tool call in :meth:`ChatStream.with_tool_calls` as its object arrives."""
        body = self._chat_body(
            model,
            messages,
            temperature,
            max_tokens,
            True,
            format,
            think,
            options,
            keep_alive,
            tools,
        )
        return ChatStream(self._chat_chunks(body, model, format))

    def _chat_chunks(
        self, body: dict[str, Any], model: str, format: Format | None
    ) -> Generator[str | ToolCall, None, ChatReply]:
        result = yield from self._text_chunks("/api/chat", body, ollama_api_chat.ChatReader)
        assert isinstance(result, ollama_api_chat.OllamaApiChatResult)
        return _chat_reply(result, model, format)

    def embed(
        self,
        model: str,
        texts: Sequence[str],
        *,
        truncate: bool | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> ollama_api_embed.OllamaApiEmbedResult:
        """``POST /api/embed`` (v0.2.6+): one vector per text, in order."""
        body: dict[str, Any] = {"model": model, "input": list(texts)}
        if truncate is not None:
            body["truncate"] = truncate
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        return self._read(self._send("POST", "/api/embed", json=body), ollama_api_embed.parse)

    def manifest(self, name: str) -> ollama_api_manifest.OllamaRegistryManifestResult:
        """``GET /v2/<namespace>/<model>/manifests/<tag>`` of a registry (this client's base
        URL): the sizes of ``name``'s layers before it is downloaded. ``name`` as Ollama
        spells it (``llama3.2:3b``: namespace ``library``; ``user/model:tag``). A registry
        without the model or tag raises :class:`ModelNotFoundError`."""
        path = manifest_path(name)
        accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
        response = self._send("GET", path, timeout=self._probe, headers=accept)
        url = str(response.request.url)
        try:
            result = ollama_api_manifest.parse(self._transcript(response))
        except ParseError as e:
            if response.status_code >= 400:
                raise self._error(response) from e
            raise self._unreadable(url, e, response.status_code) from e
        if result.error is not None:
            if result.kind == "model_not_found":
                raise ModelNotFoundError(f"{name} is not in the registry at {self.base_url}")
            raise api_error(result.error, response.status_code, result.kind, url)
        return result

    def show(self, model: str) -> ollama_api_show.OllamaApiShowResult:
        """``POST /api/show``: the model's details and ``capabilities`` (v0.6.4+)."""
        response = self._send("POST", "/api/show", json={"model": model}, timeout=self._probe)
        return self._read(response, ollama_api_show.parse)


def manifest_path(name: str) -> str:
    """The registry path of a model's manifest, as Ollama names models.

    >>> manifest_path("llama3.2:3b"), manifest_path("user/m"), manifest_path("hf.co/a/b:Q4")
    ('/v2/library/llama3.2/manifests/3b', '/v2/user/m/manifests/latest', '/v2/a/b/manifests/Q4')
    """
    base, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    parts = base.split("/")
    if len(parts) == 3:  # host/namespace/model: the host is the registry itself
        parts = parts[1:]
    namespace, model = parts if len(parts) == 2 else ("library", parts[-1])
    return f"/v2/{quote(namespace)}/{quote(model)}/manifests/{quote(tag or 'latest')}"


def _generation(result: ollama_api_generate.OllamaApiGenerateResult, model: str) -> Generation:
    return Generation(
        text=result.response,
        model=result.model or model,
        finish_reason=result.done_reason,
        prompt_tokens=result.prompt_eval_count,
        completion_tokens=result.eval_count,
    )


def _seconds(ns: int | None) -> float | None:
    return None if ns is None else ns / 1e9


def _chat_reply(
    result: ollama_api_chat.OllamaApiChatResult, model: str, format: Format | None
) -> ChatReply:
    return ChatReply(
        text=result.content,
        model=result.model or model,
        finish_reason=result.done_reason,
        prompt_tokens=result.prompt_eval_count,
        completion_tokens=result.eval_count,
        thinking=result.thinking,
        total_seconds=_seconds(result.total_duration),
        load_seconds=_seconds(result.load_duration),
        prompt_seconds=_seconds(result.prompt_eval_duration),
        eval_seconds=_seconds(result.eval_duration),
        tokens_per_second=result.tokens_per_second,
        format=format,
        tool_calls=tool_calls(result.tool_calls),
    )


def tool_calls(calls: Sequence[Mapping[str, Any]]) -> list[ToolCall]:
    """``message.tool_calls`` objects (``{"id"?, "function": {"name", "arguments": {…}}}``)
    as typed calls; a call without a function name is not one (left out)."""
    out = []
    for call in calls:
        fn = call.get("function")
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str) and fn["name"]:
            ident = call.get("id")
            out.append(
                ToolCall.of(
                    fn["name"], fn.get("arguments"), ident if isinstance(ident, str) else None
                )
            )
    return out


def _text_only(chunks: Generator[str | ToolCall, None, Result]) -> Generator[str, None, Result]:
    """The text pieces of a stream that carries no tool calls (``/api/generate``)."""
    try:
        while True:
            try:
                piece = next(chunks)
            except StopIteration as stop:
                result: Result = stop.value
                return result
            if isinstance(piece, str):
                yield piece
    finally:
        chunks.close()
