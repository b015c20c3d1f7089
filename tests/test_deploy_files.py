"""The systemd units and Dockerfiles in deploy/ (issue 14, item 7): their keys checked, their
lmsdrive command lines read by lmsdrive's own argparse, ``systemd-analyze verify`` where it
is installed, and the commands they run run as real processes against the fakes. No
``docker build`` here: the Dockerfiles' lmsdrive steps are run instead."""

from __future__ import annotations

import getpass
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from lmsdrive.cli import build_parser
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = {"ollama": "lmsdrive-keep-ollama.service", "lmstudio": "lmsdrive-keep-lmstudio.service"}
SERVER_UNITS = {"ollama": "ollama.service", "lmstudio": "lmstudio.service"}
TOKENS = ("TOKEN", "API_KEY")


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file: section → key → its values in order (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep, f"{path.name}: {raw!r} is outside a section"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def _lmsdrive_argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert Path(words[0]).name == "lmsdrive", command
    return words[1:]


@pytest.mark.parametrize("backend", list(UNITS))
def test_unit_keys(backend: str) -> None:
    unit = read_unit(DEPLOY / "systemd" / UNITS[backend])
    server = SERVER_UNITS[backend]
    assert server in unit["Unit"]["After"][0].split()
    assert server in unit["Unit"]["Wants"][0].split()
    service = unit["Service"]
    assert service["Type"] == ["notify"]
    assert int(service["WatchdogSec"][0]) > 0
    assert service["Restart"] == ["on-failure"]
    env_file = service["EnvironmentFile"][0]
    assert env_file.startswith("/etc/lmsdrive/")
    # no token inline: not in the command, not in Environment=
    inline = " ".join(service["ExecStart"] + service.get("Environment", []))
    assert not any(t in inline.upper() for t in TOKENS), inline
    example = DEPLOY / "systemd" / (Path(env_file).name + ".example")
    assert example.is_file(), f"{example.name} documents {env_file}"
    assert "install" in {s.lower() for s in unit}


@pytest.mark.parametrize("backend", list(UNITS))
def test_unit_exec_start_is_an_lmsdrive_keep_command(backend: str) -> None:
    (command,) = read_unit(DEPLOY / "systemd" / UNITS[backend])["Service"]["ExecStart"]
    args = build_parser().parse_args(_lmsdrive_argv(command))
    assert (args.cmd, args.backend) == ("keep", backend)
    assert args.max_failures > 0


@pytest.mark.parametrize("backend", list(UNITS))
def test_systemd_analyze_verify(tmp_path: Path, backend: str) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    lmsdrive = Path(sys.executable).parent / "lmsdrive"
    if not lmsdrive.is_file():
        pytest.skip(f"no lmsdrive script beside {sys.executable} for ExecStart")
    text = (DEPLOY / "systemd" / UNITS[backend]).read_text(encoding="utf-8")
    text = text.replace("/usr/local/bin/lmsdrive", str(lmsdrive))
    text = text.replace("YOUR_USERNAME", getpass.getuser())
    unit = tmp_path / UNITS[backend]
    unit.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    # unknown keys and bad values are warnings on stderr with status 0: none may appear
    assert (done.returncode, done.stderr.strip()) == (0, ""), done.stderr


@pytest.mark.parametrize("backend", list(UNITS))
def test_unit_exec_start_runs_against_the_fakes(
    fake_runtime: MakeRuntime, tmp_path: Path, backend: str
) -> None:
    """ExecStart as systemd would run it (its EnvironmentFile's example settings, the
    fake server's URL): READY=1 on NOTIFY_SOCKET, then SIGTERM ends it with status 0."""
    unit = read_unit(DEPLOY / "systemd" / UNITS[backend])
    settings = read_env_file(
        DEPLOY / "systemd" / (Path(unit["Service"]["EnvironmentFile"][0]).name + ".example")
    )
    rt = fake_runtime(server_running=True, pull_seconds=0.2)
    url_var = "OLLAMA_HOST" if backend == "ollama" else "LMSTUDIO_URL"
    settings[url_var] = rt.url("ollama" if backend == "ollama" else "lms")
    path = str(tmp_path / "notify")
    env = {k: v for k, v in rt.env.items() if not k.startswith(("LMSDRIVE_STATE", "XDG_"))}
    env.update(settings, NOTIFY_SOCKET=path, LMSDRIVE_STATE_DIR=str(tmp_path / "state"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(60)
        argv = _lmsdrive_argv(unit["Service"]["ExecStart"][0])
        proc = subprocess.Popen(
            [sys.executable, "-m", "lmsdrive", *argv], env=env, stdout=subprocess.PIPE, text=True
        )
        try:
            while not (got := sock.recv(4096)).startswith(b"READY=1"):
                assert got.startswith(b"STATUS="), got
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0
    assert f"ready: {settings['MODEL_NAME']} loaded" in out


# -- Dockerfiles -------------------------------------------------------------------------
def read_dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _lmsdrive_runs(steps: list[tuple[str, str]]) -> list[tuple[dict[str, str], list[str]]]:
    """The lmsdrive commands of the RUN steps: (their VAR=value prefix, argv), with the
    ARG defaults put in."""
    args = dict(a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    runs = []
    for kind, text in steps:
        if kind != "RUN":
            continue
        for part in text.split("&&"):
            words = shlex.split(re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), part))
            env = {}
            while words and re.fullmatch(r"\w+=.*", words[0]):
                key, value = words.pop(0).split("=", 1)
                env[key] = value
            if words and words[0] == "lmsdrive":
                runs.append((env, words[1:]))
    return runs


def test_the_lmsdrive_image() -> None:
    steps = read_dockerfile(DEPLOY / "docker" / "Dockerfile")
    assert steps[0][0] == "FROM"
    entry = dict(steps)["ENTRYPOINT"]
    cmd = dict(steps)["CMD"]
    assert entry == '["lmsdrive"]'
    build_parser().parse_args(shlex.split(cmd.strip("[]").replace(",", " ")))
    assert (DEPLOY / "docker" / "Dockerfile.dockerignore").is_file()


def test_the_model_image_runs_init_stop_after(fake_runtime: MakeRuntime, tmp_path: Path) -> None:
    """The RUN step of Dockerfile.ollama-model, run here against the fake Ollama: the server
    it starts is stopped again, and the model stays downloaded."""
    runs = _lmsdrive_runs(read_dockerfile(DEPLOY / "docker" / "Dockerfile.ollama-model"))
    assert len(runs) == 1
    env_prefix, argv = runs[0]
    args = build_parser().parse_args(argv)
    assert (args.cmd, args.stop_after) == ("init", True)
    rt = fake_runtime(pull_seconds=0.2)
    env = {k: v for k, v in rt.env.items() if not k.startswith(("LMSDRIVE_STATE", "XDG_"))}
    env.update(env_prefix, LMSDRIVE_STATE_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "lmsdrive", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with pytest.raises(httpx.TransportError):
        httpx.get(rt.ollama_url, timeout=2)
    assert [m.name for m in rt.state().ollama.downloaded] == [args.model_arg]
