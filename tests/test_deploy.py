"""The deployment examples in ``deploy/`` (issue 14 item 7): the Kubernetes manifests are
valid against the Kubernetes schemas (offline, ``kubernetes-validate``), the Compose file
against the Compose specification's schema (the copy ``check-jsonschema`` ships), every
``lmsdrive`` command they run parses with lmsdrive's own argument parser, and the commands
are run as real processes against the fake Ollama server, with the environment the
manifests give them (the server's URL swapped for the fake's).

No cluster and no ``docker`` here: what Kubernetes and Compose themselves do with these
files is not run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from lmsdrive.cli import EXIT_MODEL_NOT_FOUND, EXIT_NOT_LOADED, EXIT_OK, build_parser
from lmsdrive.testing.runtime import FakeRuntime

yaml = pytest.importorskip("yaml", reason="PyYAML (the dev extra, via kubernetes-validate)")

Factory = Callable[..., FakeRuntime]
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
#: The oldest Kubernetes with native sidecars on by default (init containers with
#: ``restartPolicy: Always``).
K8S_VERSION = "1.29.0"


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def pod_containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec") or (spec if doc.get("kind") == "Pod" else {})
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def commands() -> Iterator[tuple[str, list[str], dict[str, str]]]:
    """(where, argv, env) of every command the examples run."""
    compose = documents(COMPOSE)[0]
    for name, svc in compose["services"].items():
        env = {k: str(v) for k, v in (svc.get("environment") or {}).items()}
        if "command" in svc:
            yield f"compose {name}", list(svc["command"]), env
        test = svc.get("healthcheck", {}).get("test")
        if test:
            yield f"compose {name} healthcheck", list(test[1:]), env
    for path in MANIFESTS:
        for doc in documents(path):
            for c in pod_containers(doc):
                env = {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}
                where = f"{path.name} {c['name']}"
                if "command" in c:
                    yield where, [*c["command"], *c.get("args", [])], env
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    argv = c.get(probe, {}).get("exec", {}).get("command")
                    if argv:
                        yield f"{where} {probe}", list(argv), env


LMSDRIVE = [(w, argv, env) for w, argv, env in commands() if argv[0] == "lmsdrive"]


def test_the_examples_exist_and_run_lmsdrive() -> None:
    assert COMPOSE.is_file() and len(MANIFESTS) >= 2
    kinds = {(w.split()[0], argv[1]) for w, argv, _ in LMSDRIVE}
    assert {("compose", "init"), ("compose", "check"), ("compose", "keep")} <= kinds
    assert {("ollama-sidecar.yaml", "keep"), ("ollama-sidecar.yaml", "check")} <= kinds
    assert ("pull-job.yaml", "init") in kinds


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_kubernetes_manifests_are_valid(path: Path) -> None:
    kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (dev extra)")
    for doc in documents(path):
        kv.validate(doc, K8S_VERSION, strict=True)  # raises on any error


def test_kubernetes_validation_can_fail() -> None:
    kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (dev extra)")
    job = documents(DEPLOY / "kubernetes" / "pull-job.yaml")[0]
    job["spec"]["template"]["spec"]["containers"][0]["comand"] = ["typo"]
    with pytest.raises(kv.ValidationError):
        kv.validate(job, K8S_VERSION, strict=True)


def test_the_sidecar_is_native_and_probed_by_check() -> None:
    deployment = next(
        d
        for d in documents(DEPLOY / "kubernetes" / "ollama-sidecar.yaml")
        if d["kind"] == "Deployment"
    )
    inits = deployment["spec"]["template"]["spec"]["initContainers"]
    assert [c["restartPolicy"] for c in inits] == ["Always", "Always"]
    keep = inits[1]
    for probe in ("startupProbe", "readinessProbe"):
        assert keep[probe]["exec"]["command"][:2] == ["lmsdrive", "check"]


def _compose_schema() -> dict[str, Any]:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema (dev extra)")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text("utf-8"))
    return schema


def test_compose_file_is_valid() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (dev extra)")
    schema = _compose_schema()
    compose = documents(COMPOSE)[0]
    jsonschema.validate(compose, schema)
    broken = {**compose, "services": {"x": {"image": "a", "helthcheck": {}}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


@pytest.mark.parametrize(("where", "argv", "env"), LMSDRIVE, ids=[w for w, _, _ in LMSDRIVE])
def test_every_command_parses(where: str, argv: list[str], env: dict[str, str]) -> None:
    args = build_parser().parse_args(argv[1:])
    assert args.cmd == argv[1]


def _run(argv: list[str], env: dict[str, str], url: str) -> subprocess.CompletedProcess[str]:
    """``argv`` (``lmsdrive ...``) as a real process with the manifest's ``env``, the
    server's URL being the fake's."""
    env = {**os.environ, **env, "OLLAMA_HOST": url}
    return subprocess.run(
        [sys.executable, "-m", "lmsdrive", *argv[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one(where: str) -> tuple[list[str], dict[str, str]]:
    return next((argv, env) for w, argv, env in LMSDRIVE if w == where)


def test_compose_sequence_as_processes(fake_runtime: Factory) -> None:
    """The lmsdrive image has no ``ollama`` (remote=True): init goes through the API."""
    rt = fake_runtime(remote=True, server_running=True)
    check, check_env = _one("compose model healthcheck")
    init, init_env = _one("compose init")
    assert _run(check, check_env, rt.ollama_url).returncode == EXIT_MODEL_NOT_FOUND
    done = _run(init, init_env, rt.ollama_url)
    assert done.returncode == EXIT_OK, done.stderr
    last = json.loads(done.stdout.splitlines()[-1])
    assert (last["event"], last["exit_status"]) == ("result", EXIT_OK)
    rt.reset_counts()
    assert _run(check, check_env, rt.ollama_url).returncode == EXIT_OK
    assert len(rt.requests()) <= 2 and rt.spawn_count() == 0


def test_pull_job_as_a_process(fake_runtime: Factory) -> None:
    rt = fake_runtime(remote=True, server_running=True)
    job, env = _one("pull-job.yaml pull")
    done = _run(job, env, rt.ollama_url)
    assert done.returncode == EXIT_OK, done.stderr
    models = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["model"] for e in models if e["event"] == "model"] == ["llama3.2:1b", "qwen3:0.6b"]
    again = _run(job, env, rt.ollama_url)  # idempotent: nothing downloaded again
    assert again.returncode == EXIT_OK and '"Downloading model' not in again.stdout


def test_sidecar_sequence_as_processes(fake_runtime: Factory) -> None:
    """The Pod's story: the sidecar's ``keep`` runs; its probe fails until the model is
    loaded, then passes; the model evicted → the probe fails → ``keep`` reloads it → the
    probe passes."""
    rt = fake_runtime(remote=True, server_running=True, pull_seconds=1.0)
    keep, env = _one("ollama-sidecar.yaml lmsdrive-keep")
    probe, probe_env = _one("ollama-sidecar.yaml lmsdrive-keep readinessProbe")
    url = rt.ollama_url
    assert _run(probe, probe_env, url).returncode != EXIT_OK
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmsdrive", *keep[1:]],
        env={**os.environ, **env, "OLLAMA_HOST": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert _until(lambda: _run(probe, probe_env, url).returncode == EXIT_OK)
        # another user evicts the model while keep is held still (SIGSTOP), so the probe
        # sees the eviction before keep can mend it; then keep runs on and reloads it
        proc.send_signal(signal.SIGSTOP)
        try:
            unload = _run(["lmsdrive", "unload", env["MODEL_NAME"]], env, url)
            assert unload.returncode == EXIT_OK, unload.stderr
            assert _run(probe, probe_env, url).returncode == EXIT_NOT_LOADED
        finally:
            proc.send_signal(signal.SIGCONT)
        assert _until(lambda: _run(probe, probe_env, url).returncode == EXIT_OK)
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == EXIT_OK  # SIGTERM ends keep cleanly
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # its log (`kubectl logs -c lmsdrive-keep`): the JSON lines of every command
    events = [json.loads(line) for line in out.splitlines()]
    assert all({"event", "ts", "backend"} <= set(e) for e in events), events
    kinds = [e["event"] for e in events if e["event"] != "progress"]
    assert kinds[:2] == ["begin", "downloading"] and "reloaded" in kinds
    assert kinds[-2:] == ["stopping", "result"] and events[-1]["exit_status"] == EXIT_OK


def _until(ok: Callable[[], bool], seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ok():
            return True
        time.sleep(0.5)
    return False
