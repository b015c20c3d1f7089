"""The Ansible collection ``lmsdrive.runtimes`` (issue 15) with real Ansible: ``ansible-doc``,
``ansible-galaxy collection build``, ``ansible-test sanity`` and ``units``, and
``ansible-playbook`` over a fleet of four hosts.

The fleet: three hosts point at three separate fake servers (lmsdrive.testing, both
backends) on loopback addresses other than 127.0.0.1, which lmsdrive counts as another host
(so, as for a real GPU box, the module talks HTTP and never starts a server); the fourth at
an address where nothing listens. ``ansible_connection: local`` runs each host's module here,
with this Python (it has lmsdrive). Ansible's own files (HOME, ANSIBLE_HOME, its temp
directories) stay in the test's temporary directory; the collection is copied there too,
since ansible-test writes ``tests/output`` inside the collection it tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmsdrive.testing.fake_server import FakeServer
from lmsdrive.testing.fake_state import FakeState, load_state, make_model, read_requests, save_state
from lmsdrive.testing.runtime import free_port

pytest.importorskip("ansible", reason="needs ansible-core (the dev extra installs it)")

REPO = Path(__file__).resolve().parent.parent
COLLECTION = REPO / "ansible_collections" / "lmsdrive" / "runtimes"
BIN = Path(sys.executable).parent
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
#: pip's download cache of this machine (read before the tests move HOME): the sanity
#: tests' virtual environments install the same pinned wheels every run.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
LLAMA, QWEN = "llama3.2:3b", "qwen/qwen3-4b"
TOKEN = "sk-lm-Fleet1234:Secret9876Token"


@dataclass
class Ansible:
    """A copy of the collection and an environment for Ansible inside a temp directory."""

    root: Path
    env: dict[str, str]

    @property
    def collection(self) -> Path:
        return self.root / "ac" / "ansible_collections" / "lmsdrive" / "runtimes"

    def run(
        self, tool: str, *args: str, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / tool), *args],
            env=self.env,
            cwd=cwd or self.root,
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture
def ansible(tmp_path: Path) -> Ansible:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(
        COLLECTION,
        tmp_path / "ac" / "ansible_collections" / "lmsdrive" / "runtimes",
        ignore=shutil.ignore_patterns("__pycache__", "output", "*.tar.gz"),
    )
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        ANSIBLE_HOME=str(home / ".ansible"),
        ANSIBLE_LOCAL_TEMP=str(home / ".ansible" / "tmp"),
        ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "ac"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        PIP_CACHE_DIR=PIP_CACHE,
        PYTHONWARNINGS="ignore",  # a cryptography deprecation notice on every ansible start
    )
    return Ansible(tmp_path, env)


# -- docs and build ------------------------------------------------------------------------
def test_ansible_doc_shows_both_modules(ansible: Ansible) -> None:
    text = ansible.run("ansible-doc", "lmsdrive.runtimes.model")
    assert text.returncode == 0, text.stderr
    assert "lmsdrive.runtimes.model" in text.stdout and "state=absent" in text.stdout
    out = ansible.run(
        "ansible-doc", "--json", "lmsdrive.runtimes.model", "lmsdrive.runtimes.model_info"
    )
    assert out.returncode == 0, out.stderr
    docs = json.loads(out.stdout)
    model = docs["lmsdrive.runtimes.model"]
    assert set(model["doc"]["options"]) == {
        "name", "backend", "url", "token", "state", "start_server", "start_timeout",
        "context_length", "gpu", "ttl", "identifier",
    }  # fmt: skip
    assert model["doc"]["options"]["state"]["choices"] == [
        "present",
        "loaded",
        "unloaded",
        "absent",
    ]
    assert {"status", "steps", "model", "elapsed", "error_kind"} <= set(model["return"])
    assert "lmsdrive" in " ".join(model["doc"]["requirements"])
    info = docs["lmsdrive.runtimes.model_info"]
    assert {"version", "running", "downloaded", "loaded", "daemon"} <= set(info["return"])


def test_galaxy_build(ansible: Ansible) -> None:
    out = ansible.run(
        "ansible-galaxy", "collection", "build", str(ansible.collection), "--output-path", "dist"
    )
    assert out.returncode == 0, out.stderr
    with tarfile.open(ansible.root / "dist" / "lmsdrive-runtimes-0.1.0.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"MANIFEST.json", "FILES.json", "meta/runtime.yml", "README.md"} <= names
    assert {"plugins/modules/model.py", "plugins/modules/model_info.py"} <= names
    assert "examples/gpu_fleet.yml" in names


# -- the fleet -----------------------------------------------------------------------------
@dataclass
class Host:
    name: str
    backend: str
    model: str
    server: FakeServer | None  # None: nothing listens at url
    url: str
    token: str | None = None

    def requests(self) -> list[tuple[str, str]]:
        assert self.server is not None
        return [(r["method"], r["path"]) for r in read_requests(self.server.state_path)]


def _fake(
    tmp: Path, flavor: str, host: str, downloaded: tuple[str, ...] = (), token: str | None = None
) -> FakeServer:
    state = FakeState()
    state.knobs.api_token = token
    state.knobs.pull_seconds = 0.1
    state.knobs.load_seconds = 0.0
    state.lms.service_running = True
    for name in downloaded:
        state.backend(flavor).downloaded.append(make_model(name, state.registry[name]))
    path = Path(tempfile.mkdtemp(prefix=f"{flavor}-", dir=tmp)) / "state.json"
    save_state(path, state)
    return FakeServer(path, flavor=flavor, host=host).start()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[list[Host]]:
    servers = [
        _fake(tmp_path, "ollama", "127.1"),
        _fake(tmp_path, "lms", "127.1", token=TOKEN),  # 401 without the token
        _fake(tmp_path, "ollama", "127.1", downloaded=(LLAMA,)),  # downloaded, not loaded
    ]
    hosts = [
        Host("gpu-1", "ollama", LLAMA, servers[0], servers[0].url),
        Host("studio-1", "lmstudio", QWEN, servers[1], servers[1].url, TOKEN),
        Host("gpu-2", "ollama", LLAMA, servers[2], servers[2].url),
        Host("gpu-dead", "ollama", LLAMA, None, f"http://127.0.0.5:{free_port()}"),
    ]
    yield hosts
    for server in servers:
        server.stop()


def _inventory(path: Path, hosts: list[Host], python: str = sys.executable) -> Path:
    """The four hosts as Ansible's YAML inventory (JSON is YAML)."""
    inventory = {
        "gpu_hosts": {
            "hosts": {
                h.name: {
                    "lmsdrive_backend": h.backend,
                    "lmsdrive_url": h.url,
                    "lmsdrive_model": h.model,
                    **({"lmsdrive_token": h.token} if h.token else {}),
                }
                for h in hosts
            },
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": python},
        }
    }
    path.write_text(json.dumps(inventory, indent=2), encoding="utf-8")
    return path


_RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
_FATAL = re.compile(r"^fatal: \[(\S+)\]: FAILED! => (\{.*\})$", re.M)


def _recap(stdout: str) -> dict[str, dict[str, int]]:
    """``PLAY RECAP`` per host: ok, changed, failed."""
    return {
        m[1]: {"ok": int(m[2]), "changed": int(m[3]), "failed": int(m[5])}
        for m in _RECAP.finditer(stdout)
    }


def _failures(stdout: str) -> dict[str, dict[str, object]]:
    return {m[1]: json.loads(m[2]) for m in _FATAL.finditer(stdout)}


def _playbook(ansible: Ansible, inventory: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    book = ansible.collection / "examples" / "gpu_fleet.yml"
    return ansible.run("ansible-playbook", "-i", str(inventory), str(book), *flags)


@pytest.mark.slow
def test_fleet_check_then_apply_then_nothing_to_do(ansible: Ansible, fleet: list[Host]) -> None:
    inventory = _inventory(ansible.root / "inventory.yml", fleet)
    live, dead = fleet[:3], fleet[3]

    # check mode: every live host would change, nothing is written (no POST, no DELETE)
    check = _playbook(ansible, inventory, "--check")
    assert check.returncode == 2, check.stdout + check.stderr  # 2: some host failed
    recap = _recap(check.stdout)
    for h in live:
        assert recap[h.name]["changed"] == 1 and recap[h.name]["failed"] == 0, check.stdout
        assert all(method in ("GET", "HEAD") for method, _ in h.requests()), h.requests()
    assert f'"msg": "{LLAMA}: Would load model {LLAMA} through the server\'s API"' in check.stdout
    assert load_state(fleet[0].server.state_path).ollama.downloaded == []  # type: ignore[union-attr]

    # the real run, with --diff: each live host changed, the dead one failed with lmsdrive's words
    apply = _playbook(ansible, inventory, "--diff")
    assert apply.returncode == 2, apply.stdout + apply.stderr
    recap = _recap(apply.stdout)
    assert {h.name: (recap[h.name]["changed"], recap[h.name]["failed"]) for h in fleet} == {
        "gpu-1": (1, 0),
        "studio-1": (1, 0),
        "gpu-2": (1, 0),
        "gpu-dead": (0, 1),
    }
    failed = _failures(apply.stdout)
    assert set(failed) == {"gpu-dead"}
    assert failed["gpu-dead"]["error_kind"] == "ServerNotRunningError"
    assert failed["gpu-dead"]["msg"] == (
        f"Ollama server at {dead.url} does not answer, and lmsdrive starts servers only on this "
        "machine: start it on that host, or set the url option to where it listens."
    )
    assert '-    "loaded": false,' in apply.stdout and '+    "loaded": true,' in apply.stdout
    assert f"Downloaded model {QWEN} through the server's API; Loaded model {QWEN}" in apply.stdout
    assert ("DELETE", "/api/delete") not in fleet[0].requests()
    assert ("POST", "/api/pull") in fleet[0].requests()
    assert ("POST", "/api/pull") not in fleet[2].requests()  # it had the model already
    assert ("POST", "/api/v1/models/download") in fleet[1].requests()

    # again: nothing to do anywhere
    again = _playbook(ansible, inventory)
    recap = _recap(again.stdout)
    assert all(recap[h.name]["changed"] == 0 for h in fleet), again.stdout
    assert all(recap[h.name]["failed"] == 0 and recap[h.name]["ok"] == 4 for h in live)
    assert f'"msg": "{QWEN}: nothing to do"' in again.stdout
    assert set(_failures(again.stdout)) == {"gpu-dead"}
    for run in (check, apply, again):
        assert TOKEN not in run.stdout + run.stderr


def test_missing_lmsdrive_on_the_managed_host_names_the_package(
    ansible: Ansible, fleet: list[Host]
) -> None:
    # A Python without lmsdrive: this one without its site-packages (-S), so the module
    # has only the standard library and what Ansible ships with it.
    python = ansible.root / "python-without-lmsdrive"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    inventory = _inventory(ansible.root / "inventory.yml", fleet[:1], python=str(python))
    out = _playbook(ansible, inventory)
    failed = _failures(out.stdout)["gpu-1"]
    assert failed["error_kind"] == "MissingLibrary"
    assert "Failed to import the required Python library (lmsdrive)" in str(failed["msg"])
    assert "pip install lmsdrive" in str(failed["msg"])
    assert fleet[0].requests() == []


# -- ansible-test --------------------------------------------------------------------------
@pytest.mark.slow
def test_ansible_test_units(ansible: Ansible) -> None:
    out = ansible.run(
        "ansible-test", "units", "--local", "--python", PYTHON, cwd=ansible.collection
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert re.search(r"\d+ passed", out.stdout) and "failed" not in out.stdout


_GET_PIP = re.compile(r"manually downloaded and saved to: (\S+)")
_NO_INDEX = ("Failed to establish a new connection", "No matching distribution found")


@pytest.mark.slow
def test_ansible_test_sanity(ansible: Ansible) -> None:
    """validate-modules, pep8 and yamllint: the subset the issue names (each builds its own
    virtual environment, several seconds apiece)."""
    tests = ["--test", "validate-modules", "--test", "pep8", "--test", "yamllint"]
    args = ["sanity", *tests, "--python", PYTHON]
    out = ansible.run("ansible-test", *args, cwd=ansible.collection)
    where = _GET_PIP.search(out.stdout + out.stderr)
    if where is not None:
        # ansible-test bootstraps pip in each sanity virtualenv with a get-pip script it
        # downloads from Ansible's CI file host, which this machine cannot reach; it uses a
        # cached copy when there is one. The copy placed here installs the pip that ships with
        # Python (ensurepip, offline); the pinned sanity requirements then come from the
        # package index through that pip, as usual.
        stub = Path(where[1])
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("import ensurepip\n\nensurepip.bootstrap(upgrade=True)\n", encoding="utf-8")
        out = ansible.run("ansible-test", *args, cwd=ansible.collection)
    text = out.stdout + out.stderr
    if out.returncode != 0 and any(s in text for s in _NO_INDEX):
        pytest.skip("ansible-test sanity needs its pinned requirements from the package index")
    assert out.returncode == 0, text[-4000:]
    for name in ("validate-modules", "pep8", "yamllint"):
        assert f'Running sanity test "{name}"' in text


def test_readme_shows_the_example_playbook() -> None:
    book = (COLLECTION / "examples" / "gpu_fleet.yml").read_text(encoding="utf-8")
    assert f"```yaml\n{book}```" in (REPO / "README.md").read_text(encoding="utf-8")
