"""LM Studio's HTTP server (default ``http://localhost:1234``): the OpenAI-compatible
``/v1`` API, the REST ``/api/v0`` model list, and the ``/lmstudio-greeting`` readiness probe.

Every OpenAI-compatible server works too (llama.cpp's ``llama-cpp-python[server]`` is what
the real-server tests use): where ``/lmstudio-greeting`` is missing, :meth:`is_running`
falls back to ``/v1/models``.

Bodies are read by :mod:`lmsdrive.parsers.lms_api_models`, ``lms_api_v0_models``,
``lms_api_chat`` and ``lms_api_error``. Errors: an HTTP error status, or LM Studio's
HTTP 200 that carries ``{"error": "..."}``, raise :class:`~lmsdrive.errors.APIError`
(:class:`~lmsdrive.errors.ModelNotFoundError` when the server says the model is missing or
none is loaded) with the status code, the server's message and the URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import httpx

from .._keep_alive import lmstudio_ttl
from .._types import KeepAlive, ToolCall
from ..errors import APIError, ParseError, ServerTooOldError
from ..parsers import (
    lms_api_chat,
    lms_api_embeddings,
    lms_api_error,
    lms_api_models,
    lms_api_v0_models,
    lms_api_v1_download,
    lms_api_v1_load,
    lms_api_v1_models,
)
from ..parsers._base import Result
from ..parsers._lms_json import MAX_DEPTH, MAX_VALUE
from ..parsers._stream import read_all
from ..runtimes.lmstudio import LMSTUDIO
from ..transcript import Transcript
from ._client import BaseAPI, ChatReply, ChatStream, Generation, GenerationStream, api_error
from ._messages import openai_messages

__all__ = ["DEFAULT_URL", "LMStudioAPI"]

DEFAULT_URL = "http://localhost:1234"

Message = Mapping[str, Any]
#: Structured output: ``"json"`` or a JSON schema.
Format = str | dict[str, Any]
R = TypeVar("R", bound=Result)


class LMStudioAPI(BaseAPI):
    """A pooled client of one LM Studio (or OpenAI-compatible) server."""

    backend: ClassVar[str] = "LM Studio"
    start_hint: ClassVar[str] = (
        "start it with `lms server start` (or from the LM Studio app), or set LMSTUDIO_URL "
        "to where it listens"
    )
    url_variable: ClassVar[str] = "LMSTUDIO_URL"
    expected_server: ClassVar[str] = "an OpenAI-compatible server"
    token_variables: ClassVar[tuple[str, ...]] = LMSTUDIO.token_variables

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        api_token: str | None = None,
        api_key: str | None = None,
    ) -> None:
        """``api_token`` (``api_key`` is its older name) is sent as ``Authorization: Bearer``
        on every request."""
        super().__init__(
            base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            transport=transport,
            api_token=api_token or api_key,
        )

    # -- error handling ---------------------------------------------------------------

    def _error_report(self, transcript: Transcript) -> tuple[str, str | None]:
        err = lms_api_error.parse(transcript)
        return err.error_message or err.error or "error", err.kind

    # -- endpoints --------------------------------------------------------------------

    def is_running(self, timeout: float | None = None) -> bool:
        """Whether the server answers: ``/lmstudio-greeting``, else ``/v1/models`` (other
        OpenAI-compatible servers). Connection failures and timeouts are ``False``."""
        try:
            greeting = self._get_quick("/lmstudio-greeting", timeout)
            if greeting.is_success or self._answers_with_auth(greeting):
                return True
            models = self._get_quick("/v1/models", timeout)
            return models.status_code == 200 or self._answers_with_auth(models)
        except (ConnectionError, TimeoutError):
            return False

    def models(self) -> lms_api_models.LmsApiModelsResult:
        """``GET /v1/models``: the models the server offers (all downloaded ones under JIT)."""
        return self._read(self._get_quick("/v1/models"), lms_api_models.parse)

    def model_ids(self) -> list[str]:
        """The ids of :meth:`models`, in the server's order."""
        return list(self.models().ids)

    def models_v0(self) -> lms_api_v0_models.LmsApiV0ModelsResult:
        """``GET /api/v0/models`` (LM Studio 0.3.6+): type, state, context lengths."""
        return self._read(self._get_quick("/api/v0/models"), lms_api_v0_models.parse)

    # -- REST API v1 (LM Studio 0.4+): models, downloads, load, unload -------------------

    def _read_v1(self, response: httpx.Response, parser: Callable[[Transcript], R]) -> R:
        """:meth:`_read` for a v1 route; an LM Studio older than 0.4 (HTTP 200 with
        ``Unexpected endpoint or method``) raises :class:`ServerTooOldError`."""
        if response.status_code == 200 and "unexpected endpoint" in response.text[:500].lower():
            path = response.request.url.path
            raise ServerTooOldError(
                f"LM Studio at {self.base_url} has no REST API v1 (it answered {path} with "
                "'Unexpected endpoint or method'): it is older than 0.4. Update LM Studio on "
                "that host to 0.4 or later, or download and load the model there (`lms get "
                "MODEL`, `lms load MODEL`)"
            )
        return self._read(response, parser)

    def models_v1(self) -> lms_api_v1_models.LmsApiV1ModelsResult:
        """``GET /api/v1/models``: downloaded models with their ``loaded_instances``."""
        return self._read_v1(self._get_quick("/api/v1/models"), lms_api_v1_models.parse)

    def download(
        self, model: str, *, quantization: str | None = None
    ) -> lms_api_v1_download.LmsApiV1DownloadResult:
        """``POST /api/v1/models/download``: starts a download job (``job_id``), or says
        ``already_downloaded``."""
        body: dict[str, Any] = {"model": model}
        if quantization:
            body["quantization"] = quantization
        response = self._send("POST", "/api/v1/models/download", json=body, timeout=self._probe)
        return self._read_v1(response, lms_api_v1_download.parse)

    def download_status(self, job_id: str) -> lms_api_v1_download.LmsApiV1DownloadResult:
        """``GET /api/v1/models/download/status/{job_id}``: the job's progress."""
        path = "/api/v1/models/download/status/" + quote(job_id, safe="")
        return self._read_v1(self._get_quick(path), lms_api_v1_download.parse)

    def load_v1(
        self, model: str, *, context_length: int | None = None
    ) -> lms_api_v1_load.LmsApiV1LoadResult:
        """``POST /api/v1/models/load`` (blocks until loaded): the new ``instance_id``."""
        body: dict[str, Any] = {"model": model}
        if context_length is not None:
            body["context_length"] = context_length
        response = self._send("POST", "/api/v1/models/load", json=body)
        return self._read_v1(response, lms_api_v1_load.parse)

    def unload_v1(self, instance_id: str) -> lms_api_v1_load.LmsApiV1LoadResult:
        """``POST /api/v1/models/unload``."""
        body = {"instance_id": instance_id}
        response = self._send("POST", "/api/v1/models/unload", json=body)
        return self._read_v1(response, lms_api_v1_load.parse)

    @staticmethod
    def _chat_body(
        model: str,
        messages: Sequence[Message],
        temperature: float | None,
        max_tokens: int | None,
        stream: bool,
        extra: Mapping[str, Any] | None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> dict[str, Any]:
        """The request body; ``temperature``/``max_tokens`` only when set (the model's own
        defaults otherwise), ``keep_alive`` as LM Studio's ``ttl`` (whole seconds)."""
        body: dict[str, Any] = {
            "model": model,
            "messages": openai_messages(messages),
            "stream": stream,
        }
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if tools:
            body["tools"] = [dict(t) for t in tools]
        if keep_alive is not None:
            body["ttl"] = lmstudio_ttl(keep_alive)
        if extra:
            body.update(extra)
        return body

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        extra: Mapping[str, Any] | None = None,
        format: Format | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> ChatReply:
        """``POST /v1/chat/completions`` (not streamed): the first choice's answer, its
        reasoning (``reasoning_content`` / ``reasoning``) in :attr:`ChatReply.thinking`.
        ``format``: ``"json"`` or a JSON schema (``response_format`` ``json_schema``);
        ``tools``: function schemas, the calls in :attr:`ChatReply.tool_calls`;
        ``keep_alive``: sent as ``ttl``."""
        body = self._chat_body(
            model, messages, temperature, max_tokens, False, extra, tools, keep_alive
        )
        body.update(self._response_format(format))
        path = "/v1/chat/completions"
        try:
            result = self._read(self._send("POST", path, json=body), _parse_chat)
        except APIError as e:
            if not self._fall_back(format, e.message):
                raise
            body.update(self._response_format(format))
            result = self._read(self._send("POST", path, json=body), _parse_chat)
        return _chat_reply(result, model, format)

    def generate(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> Generation:
        """:meth:`chat` with one user message."""
        return self.chat(
            model,
            [{"role": "user", "content": prompt}],
            temperature=temperature,
            max_tokens=max_tokens,
            keep_alive=keep_alive,
        )

    def chat_stream(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        extra: Mapping[str, Any] | None = None,
        format: Format | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> ChatStream:
        """``POST /v1/chat/completions`` with ``stream: true`` (SSE): the content deltas as
        they arrive, then (:meth:`ChatStream.with_tool_calls`) each tool call once its
        deltas are complete; the stream's :attr:`~ChatStream.result` holds the whole answer
        (a :class:`ChatReply`) once exhausted. An error event inside the stream raises
        :class:`APIError`."""
        body = self._chat_body(
            model, messages, temperature, max_tokens, True, extra, tools, keep_alive
        )
        return ChatStream(self._stream_chat_reply(body, model, format))

    def _stream_chat_reply(
        self, body: dict[str, Any], model: str, format: Format | None
    ) -> Generator[str | ToolCall, None, ChatReply]:
        body.update(self._response_format(format))
        try:
            result = yield from self._stream_chat(body, model)
        except APIError as e:
            if not self._fall_back(format, e.message):
                raise
            body.update(self._response_format(format))
            result = yield from self._stream_chat(body, model)
        reply = _chat_reply(result, model, format)
        yield from reply.tool_calls  # whole once the stream ended (arguments come in deltas)
        return reply

    def generate_stream(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> GenerationStream:
        """:meth:`chat_stream` with one user message."""
        messages = [{"role": "user", "content": prompt}]
        body = self._chat_body(
            model, messages, temperature, max_tokens, True, None, None, keep_alive
        )
        return GenerationStream(self._stream_generation(body, model))

    def _stream_generation(
        self, body: dict[str, Any], model: str
    ) -> Generator[str, None, Generation]:
        result = yield from self._stream_chat(body, model)
        return _generation(result, model)

    def _stream_chat(
        self, body: dict[str, Any], model: str
    ) -> Generator[str, None, lms_api_chat.LmsApiChatResult]:
        path = "/v1/chat/completions"
        with self._open_stream("POST", path, json=body) as response:
            url = str(response.request.url)
            if response.status_code >= 400:
                text = self._read_text(response, path)
                raise self._error(response, text)
            parser = lms_api_chat.ChatReader(response.status_code)
            try:
                for line in self._iter_lines(response, path):
                    for event in parser.feed(line + "\n"):
                        yield from self._delta_text(event, response.status_code, url)
                events = list(parser.close())
                result = parser.result()
            except ParseError as e:
                raise self._unreadable(url, e, response.status_code) from e
            for event in events:
                yield from self._delta_text(event, response.status_code, url)
        if not result.complete and result.finish_reason is None:
            raise APIError(
                f"{self.backend} at {url} ended the stream before its end ([DONE]): the "
                "server may have stopped; check its log",
                response.status_code,
            )
        return result

    @staticmethod
    def _delta_text(event: lms_api_chat.ChatEvent, status: int, url: str) -> Iterator[str]:
        if isinstance(event, lms_api_chat.ChatError):
            raise api_error(event.message, status, event.kind, url)
        if isinstance(event, lms_api_chat.ChatDelta) and event.index == 0 and event.content:
            yield event.content

    # -- structured output and embeddings ----------------------------------------------------

    #: How this server takes a JSON schema: OpenAI's ``json_schema`` (LM Studio), or
    #: ``json_object`` + ``schema`` (llama-cpp-python's server, which refuses the former);
    #: switched once, on the first refusal.
    schema_style: str = "json_schema"

    def _response_format(self, format: Format | None) -> dict[str, Any]:
        """The ``response_format`` of a request asking for ``format``."""
        if format is None:
            return {}
        if not isinstance(format, dict):
            return {"response_format": {"type": "json_object"}}
        if self.schema_style == "json_object":
            return {"response_format": {"type": "json_object", "schema": format}}
        schema = {"name": "response", "strict": True, "schema": format}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}

    def _fall_back(self, format: Format | None, message: str) -> bool:
        """Whether a refused ``json_schema`` request should be sent again as
        ``json_object`` + ``schema`` (switches :attr:`schema_style`)."""
        if (
            isinstance(format, dict)
            and self.schema_style == "json_schema"
            and "json_object" in message
            and "json_schema" in message
        ):
            self.schema_style = "json_object"
            return True
        return False

    def embed(self, model: str, texts: Sequence[str]) -> lms_api_embeddings.LmsApiEmbeddingsResult:
        """``POST /v1/embeddings``: one vector per text, in order (the model must be an
        embedding model, or a server started with embeddings on)."""
        body = {"model": model, "input": list(texts)}
        return self._read(self._send("POST", "/v1/embeddings", json=body), lms_api_embeddings.parse)


def _parse_chat(transcript: Transcript) -> lms_api_chat.LmsApiChatResult:
    """:func:`lms_api_chat.parse`, the usual plain answer decoded in one go: a body of one
    JSON object with fewer brackets than the nesting bound (so the parser's depth scan
    cannot refuse it) is handed to the parser as a value, the rest to ``parse`` itself.
    Same result, same errors; only the character-by-character depth scan is saved."""
    body = transcript.text.strip()
    if (
        body[:1] == "{"
        and body[-1:] == "}"
        and len(body) <= MAX_VALUE
        and body.count("{") + body.count("[") <= MAX_DEPTH
    ):
        try:
            value = json.loads(body)
        except ValueError:
            pass
        else:
            parser = lms_api_chat.ChatReader(transcript.http_status)
            parser.read_object(value)
            return read_all(parser, "")
    return lms_api_chat.parse(transcript)


def _generation(result: lms_api_chat.LmsApiChatResult, model: str) -> Generation:
    return Generation(
        text=result.content_text,
        model=result.model or model,
        finish_reason=result.finish_reason,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
    )


def _chat_reply(
    result: lms_api_chat.LmsApiChatResult, model: str, format: Format | None
) -> ChatReply:
    stats = result.stats or {}
    rate = stats.get("tokens_per_second")
    return ChatReply(
        text=result.content_text,
        model=result.model or model,
        finish_reason=result.finish_reason,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        thinking=result.reasoning_text or None,
        tokens_per_second=float(rate) if isinstance(rate, (int, float)) else None,
        format=format,
        tool_calls=[ToolCall.of(c.name, c.arguments, c.id) for c in result.tool_calls if c.name],
    )
