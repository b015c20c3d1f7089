"""Measurements that must run in ONE interpreter next to the peers (the bench venv).

Run as a script by ``bench/run.py`` with the bench venv's Python (where ``ollama``,
``openai``, ``lmstudio`` and ``jc`` are installed next to lmsdrive), or with the project's
Python (then the peers are reported missing). It reads a JSON job on stdin and prints a
JSON answer on stdout; only the standard library is imported up front, every contender
lazily, so a missing peer costs its own figure and nothing else.

Jobs:

* ``{"job": "http", "targets": [...], "calls": N, "warmup": W, "max_tokens": T}``: the same
  generate request through every contender against every target, interleaved call by call;
  answers ``{label: {contender: {"times": [...]} | {"error": "..."}}}``.
* ``{"job": "parse", "file": F, "reps": R}``: ``ollama list`` parsed in-process by lmsdrive
  and by jc's ``asciitable``; answers ``{contender: {"times": [...], "rows": n} | {"error"}}``.
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

PROMPT = "Why is the sky blue? Answer in one sentence."
TEMPERATURE = 0.1

Call = Callable[[], str]


def _ollama_contenders(url: str, model: str, max_tokens: int) -> dict[str, Callable[[], Call]]:
    body = {
        "model": model,
        "prompt": PROMPT,
        "stream": False,
        "options": {"temperature": TEMPERATURE, "num_predict": max_tokens},
    }

    def bare() -> Call:
        import httpx

        client = httpx.Client(base_url=url, timeout=60.0)
        return lambda: str(client.post("/api/generate", json=body).json()["response"])

    def api() -> Call:
        from lmsdrive.http.ollama import OllamaAPI

        client = OllamaAPI(url)
        return lambda: (
            client.generate(model, PROMPT, temperature=TEMPERATURE, max_tokens=max_tokens).text
        )

    def driver() -> Call:
        from lmsdrive import Driver
        from lmsdrive.config import Config

        d = Driver(Config(backend="ollama", model_name=model, url=url))
        return lambda: d.generate(PROMPT, temperature=TEMPERATURE, max_tokens=max_tokens).text

    def peer() -> Call:
        ollama = importlib.import_module("ollama")  # the peers have no stubs here
        client = ollama.Client(host=url)
        options = {"temperature": TEMPERATURE, "num_predict": max_tokens}
        return lambda: str(client.generate(model=model, prompt=PROMPT, options=options).response)

    return {
        "bare httpx": bare,
        "lmsdrive OllamaAPI.generate": api,
        "lmsdrive Driver.generate": driver,
        "ollama.Client.generate": peer,
    }


def _openai_contenders(url: str, model: str, max_tokens: int) -> dict[str, Callable[[], Call]]:
    messages = [{"role": "user", "content": PROMPT}]
    body = {
        "model": model,
        "messages": messages,
        "temperature": TEMPERATURE,
        "max_tokens": max_tokens,
        "stream": False,
    }

    def bare() -> Call:
        import httpx

        client = httpx.Client(base_url=url, timeout=60.0)
        return lambda: str(
            client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"][
                "content"
            ]
        )

    def api() -> Call:
        from lmsdrive.http.lmstudio import LMStudioAPI

        client = LMStudioAPI(url)
        return lambda: (
            client.generate(model, PROMPT, temperature=TEMPERATURE, max_tokens=max_tokens).text
        )

    def driver() -> Call:
        from lmsdrive import Driver
        from lmsdrive.config import Config

        d = Driver(Config(backend="lmstudio", model_name=model, url=url))
        return lambda: d.generate(PROMPT, temperature=TEMPERATURE, max_tokens=max_tokens).text

    def peer() -> Call:
        openai = importlib.import_module("openai")
        client = openai.OpenAI(base_url=url + "/v1", api_key="lm-studio", max_retries=0)

        def call() -> str:
            r = client.chat.completions.create(
                model=model,
                messages=messages,
                temperature=TEMPERATURE,
                max_tokens=max_tokens,
            )
            return str(r.choices[0].message.content)

        return call

    return {
        "bare httpx": bare,
        "lmsdrive LMStudioAPI.generate": api,
        "lmsdrive Driver.generate": driver,
        "openai chat.completions": peer,
    }


MESSAGES = [
    {"role": "system", "content": "Answer in one sentence."},
    {"role": "user", "content": PROMPT},
]
TEXTS = ["Why is the sky blue?", "Why is grass green?"]


def _ollama_chat_contenders(url: str, model: str, max_tokens: int) -> dict[str, Callable[[], Call]]:
    options = {"temperature": TEMPERATURE, "num_predict": max_tokens}
    body = {"model": model, "messages": MESSAGES, "stream": False, "options": options}

    def bare() -> Call:
        import httpx

        client = httpx.Client(base_url=url, timeout=60.0)
        return lambda: str(client.post("/api/chat", json=body).json()["message"]["content"])

    def driver() -> Call:
        from lmsdrive import Driver
        from lmsdrive.config import Config

        d = Driver(Config(backend="ollama", model_name=model, url=url))
        return lambda: d.chat(MESSAGES, temperature=TEMPERATURE, max_tokens=max_tokens).text

    def peer() -> Call:
        ollama = importlib.import_module("ollama")
        client = ollama.Client(host=url)
        return lambda: str(
            client.chat(model=model, messages=MESSAGES, options=options).message.content
        )

    return {"bare httpx": bare, "lmsdrive Driver.chat": driver, "ollama.Client.chat": peer}


def _ollama_embed_contenders(url: str, model: str, _: int) -> dict[str, Callable[[], Call]]:
    def bare() -> Call:
        import httpx

        client = httpx.Client(base_url=url, timeout=60.0)
        body = {"model": model, "input": TEXTS}
        return lambda: str(client.post("/api/embed", json=body).json()["embeddings"][0][0])

    def driver() -> Call:
        from lmsdrive import Driver
        from lmsdrive.config import Config

        d = Driver(Config(backend="ollama", model_name=model, url=url))
        return lambda: str(d.embed(TEXTS)[0][0])

    def peer() -> Call:
        ollama = importlib.import_module("ollama")
        client = ollama.Client(host=url)
        return lambda: str(client.embed(model=model, input=TEXTS).embeddings[0][0])

    return {"bare httpx": bare, "lmsdrive Driver.embed": driver, "ollama.Client.embed": peer}


def _openai_chat_contenders(url: str, model: str, max_tokens: int) -> dict[str, Callable[[], Call]]:
    body = {
        "model": model,
        "messages": MESSAGES,
        "temperature": TEMPERATURE,
        "max_tokens": max_tokens,
        "stream": False,
    }

    def bare() -> Call:
        import httpx

        client = httpx.Client(base_url=url, timeout=60.0)
        return lambda: str(
            client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"][
                "content"
            ]
        )

    def driver() -> Call:
        from lmsdrive import Driver
        from lmsdrive.config import Config

        d = Driver(Config(backend="lmstudio", model_name=model, url=url))
        return lambda: d.chat(MESSAGES, temperature=TEMPERATURE, max_tokens=max_tokens).text

    def peer() -> Call:
        openai = importlib.import_module("openai")
        client = openai.OpenAI(base_url=url + "/v1", api_key="lm-studio", max_retries=0)
        return lambda: str(
            client.chat.completions.create(
                model=model, messages=MESSAGES, temperature=TEMPERATURE, max_tokens=max_tokens
            )
            .choices[0]
            .message.content
        )

    return {"bare httpx": bare, "lmsdrive Driver.chat": driver, "openai chat.completions": peer}


def _openai_embed_contenders(url: str, model: str, _: int) -> dict[str, Callable[[], Call]]:
    def bare() -> Call:
        import httpx

        client = httpx.Client(base_url=url, timeout=60.0)
        body = {"model": model, "input": TEXTS}
        return lambda: str(
            client.post("/v1/embeddings", json=body).json()["data"][0]["embedding"][0]
        )

    def driver() -> Call:
        from lmsdrive import Driver
        from lmsdrive.config import Config

        d = Driver(Config(backend="lmstudio", model_name=model, url=url))
        return lambda: str(d.embed(TEXTS)[0][0])

    def peer() -> Call:
        openai = importlib.import_module("openai")
        client = openai.OpenAI(base_url=url + "/v1", api_key="lm-studio", max_retries=0)
        return lambda: str(client.embeddings.create(model=model, input=TEXTS).data[0].embedding[0])

    return {"bare httpx": bare, "lmsdrive Driver.embed": driver, "openai embeddings": peer}


#: The contenders of each (server shape, call kind); "generate" is the original row.
CONTENDERS: dict[tuple[str, str], Callable[[str, str, int], dict[str, Callable[[], Call]]]] = {
    ("ollama", "chat"): _ollama_chat_contenders,
    ("ollama", "embed"): _ollama_embed_contenders,
    ("openai", "chat"): _openai_chat_contenders,
    ("openai", "embed"): _openai_embed_contenders,
}


def _error(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".splitlines()[0]
    if isinstance(e, ImportError):
        return f"{e.name or 'module'} not installed in {sys.prefix}"
    return text[:200]


def http_job(job: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for target in job["targets"]:
        default = _ollama_contenders if target["shape"] == "ollama" else _openai_contenders
        make = CONTENDERS.get((target["shape"], target.get("kind", "generate")), default)
        factories = make(target["url"], target["model"], int(job["max_tokens"]))
        calls: dict[str, Call] = {}
        res: dict[str, Any] = {}
        for name, factory in factories.items():
            try:
                call = factory()
                for _ in range(int(job["warmup"])):
                    call()
                calls[name] = call
                res[name] = {"times": [], "sample": call()[:60]}
            except Exception as e:  # a contender that cannot run here: its row says why
                res[name] = {"error": _error(e)}
        order = list(calls.items())
        for k in range(int(target.get("calls", job["calls"]))):
            # interleaved, the order rotated every round: drift and "who goes first" effects
            # hit every contender alike
            for name, call in order[k % len(order) :] + order[: k % len(order)]:
                t0 = time.perf_counter()
                call()
                res[name]["times"].append(time.perf_counter() - t0)
        out[target.get("key", target["label"])] = res
    return out


def parse_job(job: dict[str, Any]) -> dict[str, Any]:
    with open(job["file"], encoding="utf-8") as fh:
        text = fh.read()

    def lmsdrive_parse() -> int:
        from lmsdrive.parsers import ollama_list
        from lmsdrive.transcript import Transcript

        return len(ollama_list.parse(Transcript(stdout=text, argv=("ollama", "list"))).models)

    def jc_parse() -> int:
        jc = importlib.import_module("jc")
        return len(jc.parse("asciitable", text, quiet=True))

    out: dict[str, Any] = {}
    fns: dict[str, Callable[[], int]] = {}
    for name, fn in (("lmsdrive ollama_list.parse", lmsdrive_parse), ("jc asciitable", jc_parse)):
        try:
            out[name] = {"times": [], "rows": fn()}  # warm-up (imports, regex compilation)
            fns[name] = fn
        except Exception as e:
            out[name] = {"error": _error(e)}
    for _ in range(int(job["reps"])):
        for name, fn in fns.items():  # interleaved: drift hits both alike
            gc.collect()
            t0 = time.perf_counter()
            fn()
            out[name]["times"].append(time.perf_counter() - t0)
    return out


def main() -> int:
    job = json.loads(sys.stdin.read())
    handler = {"http": http_job, "parse": parse_job}[job["job"]]
    json.dump(handler(job), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
