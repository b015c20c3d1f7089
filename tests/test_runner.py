"""The runners: one-shot, streamed (pexpect) and detached, with real child processes.

Children are small Python scripts written into ``tmp_path``. "Gone" means the process no
longer runs: absent, or a zombie waiting for init (this machine's init never reaps
orphans, so a killed grandchild stays a zombie; our direct children must be reaped).
"""

from __future__ import annotations

import gc
import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lmsdrive.errors import CommandTimeoutError, NotInstalledError
from lmsdrive.runner import (
    CHILD_ENV,
    TRANSCRIPT_LIMIT,
    RunTimeoutError,
    Stream,
    child_env,
    follow,
    run,
    spawn_detached,
    stream,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups and ptys")

ROOT = Path(__file__).resolve().parent.parent
PIDS_RE = re.compile(r"PIDS (\d+)(?: (\d+))?")

# A child that starts a grandchild (same process group), reports both pids, then ticks.
FAMILY = """
    import os, subprocess, sys, time
    gc = subprocess.Popen([sys.executable, "-c", "import time\\nwhile True: time.sleep(0.05)"])
    print(f"PIDS {os.getpid()} {gc.pid}", flush=True)
    i = 0
    while True:
        print(f"tick {i}", flush=True)
        i += 1
        time.sleep(0.02)
"""


def script(tmp_path: Path, body: str, name: str = "child") -> Path:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body), encoding="utf-8")
    path.chmod(0o755)
    return path


def state(pid: int) -> str | None:
    """The process state letter, or None when the pid does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc: fall back to a signal-0 probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return "R"
    return stat[stat.rfind(b")") + 2 :].split()[0].decode()


def running(pid: int) -> bool:
    return state(pid) not in (None, "Z", "X")


def wait_until(pred: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def gone(*pids: int) -> bool:
    return wait_until(lambda: not any(running(p) for p in pids), 2.0)


def read_pids(chunks: Iterator[str]) -> tuple[int, int]:
    """Consume chunks until the child's PIDS line is complete."""
    seen = ""
    for chunk in chunks:
        seen += chunk
        match = PIDS_RE.search(seen)
        if match and "\n" in seen[match.end() :]:
            return int(match.group(1)), int(match.group(2) or 0)
    raise AssertionError(f"no PIDS line in {seen!r}")


# -- environment ----------------------------------------------------------------------------


def test_child_env_merges_os_environ_child_env_and_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMSDRIVE_TEST_MARK", "kept")
    monkeypatch.setenv("NO_COLOR", "0")
    env = child_env({"PAGER": "less", "EXTRA": "x"})
    assert env["LMSDRIVE_TEST_MARK"] == "kept"
    assert env["NO_COLOR"] == "1"  # CHILD_ENV beats os.environ
    assert env["PAGER"] == "less"  # extra beats CHILD_ENV
    assert env["EXTRA"] == "x"
    assert env["LMS_LANG"] == "en" and env["FORCE_COLOR"] == "0"
    assert dict(CHILD_ENV)["COLUMNS"] == "120"
    with pytest.raises(TypeError):
        CHILD_ENV["NO_COLOR"] = "0"  # type: ignore[index]


# -- run ------------------------------------------------------------------------------------


def test_run_keeps_stdout_and_stderr_apart_with_exit_code(tmp_path: Path) -> None:
    child = script(
        tmp_path,
        """
        import sys
        print("to out")
        print("to err", file=sys.stderr)
        sys.exit(3)
        """,
    )
    t = run([child], timeout=10)
    assert t.stdout == "to out\n"
    assert t.stderr == "to err\n"
    assert t.exit_code == 3
    assert t.argv == (str(child),)


def test_run_decodes_invalid_utf8_with_replacement(tmp_path: Path) -> None:
    child = script(
        tmp_path, 'import sys\nsys.stdout.buffer.write(b"ok \\xff\\xfe caf\\xc3\\xa9\\n")\n'
    )
    t = run([child], timeout=10)
    assert t.stdout == "ok \ufffd\ufffd café\n"


def test_run_passes_argv_literally_stdin_and_env(tmp_path: Path) -> None:
    child = script(
        tmp_path,
        """
        import os, sys
        print(repr(sys.argv[1:]))
        print(sys.stdin.read().upper())
        print(os.environ["TERM"], os.environ["NO_COLOR"], os.environ["MARK"])
        """,
    )
    t = run([child, "$(echo hi); ls", "*"], timeout=10, stdin="piped", env={"MARK": "m"})
    lines = t.stdout.splitlines()
    assert lines[0] == "['$(echo hi); ls', '*']"
    assert lines[1] == "PIPED"
    assert lines[2] == "dumb 1 m"


def test_run_without_stdin_reads_dev_null(tmp_path: Path) -> None:
    child = script(tmp_path, "import sys\nprint(repr(sys.stdin.read()))\n")
    assert run([child], timeout=10).stdout == "''\n"


def test_run_refuses_a_shell_string() -> None:
    with pytest.raises(TypeError):
        run("echo hi", timeout=1)


def test_run_missing_binary_is_not_installed(tmp_path: Path) -> None:
    with pytest.raises(NotInstalledError, match="no-such-tool-xyz") as info:
        run(["no-such-tool-xyz", "list"], timeout=1)
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(NotInstalledError, match="missing"):
        run([tmp_path / "missing"], timeout=1)


def test_run_timeout_kills_the_group_and_keeps_partial_output(tmp_path: Path) -> None:
    child = script(
        tmp_path,
        """
        import os, subprocess, sys, time
        gc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print(f"PIDS {os.getpid()} {gc.pid}")
        print("working on it", flush=True)
        print("warming up", file=sys.stderr, flush=True)
        time.sleep(60)
        """,
    )
    started = time.monotonic()
    with pytest.raises(RunTimeoutError) as info:
        run([child, "--flag"], timeout=0.5)
    assert time.monotonic() - started < 3
    err = info.value
    assert isinstance(err, CommandTimeoutError) and isinstance(err, TimeoutError)
    assert "--flag" in str(err) and "0.5 s" in str(err)
    assert "working on it" in str(err) and "warming up" in str(err)
    assert "working on it" in err.transcript.stdout
    assert err.transcript.stderr == "warming up\n"
    assert err.transcript.exit_code == -signal.SIGKILL
    match = PIDS_RE.search(err.transcript.stdout)
    assert match is not None
    assert gone(int(match.group(1)), int(match.group(2)))


# -- stream ---------------------------------------------------------------------------------


def test_stream_chunks_arrive_while_the_child_runs(tmp_path: Path) -> None:
    go = tmp_path / "go"
    child = script(
        tmp_path,
        """
        import os, sys, time
        print("first", flush=True)
        while not os.path.exists(sys.argv[1]):
            time.sleep(0.005)
        print("second")
        sys.exit(5)
        """,
    )
    with stream([child, str(go)], timeout=10, idle_timeout=None) as s:
        first = next(s)
        assert "first" in first
        assert running(s.pid)  # the chunk came before the child exited
        assert s.exit_code is None and s.running
        go.touch()
        rest = "".join(s)
    assert "second" in rest
    assert s.exit_code == 5
    assert not s.running
    assert state(s.pid) is None  # reaped
    t = s.transcript()
    assert t.exit_code == 5
    assert t.stdout.replace("\r\n", "\n") == "first\nsecond\n"
    assert t.meta["truncated"] is False
    chunks = t.meta["chunks"]
    assert isinstance(chunks, list) and "".join(text for _, text in chunks) == t.stdout


def test_stream_reports_exit_codes(tmp_path: Path) -> None:
    for code in (0, 7):
        child = script(tmp_path, f"import sys\nprint('bye')\nsys.exit({code})\n")
        with stream([child], timeout=10, idle_timeout=5) as s:
            assert "bye" in "".join(s)
        assert s.exit_code == code


def test_stream_runs_on_a_fixed_terminal_with_child_env(tmp_path: Path) -> None:
    child = script(
        tmp_path,
        """
        import os, sys
        size = os.get_terminal_size()
        print(sys.stdout.isatty(), size.lines, size.columns, os.environ["TERM"],
              os.environ["NO_COLOR"], os.environ["LMS_LANG"], os.environ["MARK"])
        """,
    )
    with stream([child], timeout=10, idle_timeout=None, env={"MARK": "m"}) as s:
        out = "".join(s)
    assert out.strip() == "True 40 120 xterm 1 en m"


def test_stream_survives_invalid_utf8(tmp_path: Path) -> None:
    child = script(
        tmp_path, 'import sys\nsys.stdout.buffer.write(b"ok \\xff\\xfe caf\\xc3\\xa9 end\\n")\n'
    )
    with stream([child], timeout=10, idle_timeout=None) as s:
        out = "".join(s)
    assert out == "ok \ufffd\ufffd café end\r\n"


def test_stream_transcript_memory_stays_bounded(tmp_path: Path) -> None:
    child = script(
        tmp_path,
        """
        import sys
        for i in range(3000):
            sys.stdout.write(f"{i:06d} " + "x" * 93 + "\\n")
        sys.stdout.write("LAST\\n")
        """,
    )
    with stream([child], timeout=10, idle_timeout=None) as s:
        total = sum(len(chunk) for chunk in s)
    t = s.transcript()
    assert total > 300_000
    assert len(t.stdout) <= TRANSCRIPT_LIMIT
    assert len(t.stdout) > TRANSCRIPT_LIMIT - 5000
    assert t.stdout.endswith("LAST\r\n")
    assert t.meta["truncated"] is True
    assert t.meta["dropped_chars"] == total - len(t.stdout)


def test_stream_missing_binary_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(NotInstalledError, match="no-such-tool-xyz"):
        stream(["no-such-tool-xyz"], timeout=1, idle_timeout=None)
    with pytest.raises(NotInstalledError):
        stream([tmp_path / "missing"], timeout=1, idle_timeout=None)
    with pytest.raises(TypeError):
        stream("echo hi", timeout=1, idle_timeout=None)
    with pytest.raises(ValueError):
        stream(["echo"], timeout=0, idle_timeout=None)


def test_stream_idle_timeout_stops_the_child(tmp_path: Path) -> None:
    child = script(
        tmp_path,
        """
        import time
        print("hello, then silence", flush=True)
        time.sleep(60)
        """,
    )
    s = stream([child], timeout=None, idle_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(RunTimeoutError) as info:
        for _ in s:
            pass
    assert 0.25 < time.monotonic() - started < 2.5
    err = info.value
    assert err.idle is True and err.timeout == 0.3
    assert "printed nothing for 0.3 s" in str(err)
    assert "hello, then silence" in str(err)
    assert "hello, then silence" in err.transcript.stdout
    assert err.transcript.exit_code is not None
    assert state(s.pid) is None


def test_stream_overall_timeout_stops_a_chatty_child(tmp_path: Path) -> None:
    child = script(tmp_path, FAMILY)
    s = stream([child], timeout=0.5, idle_timeout=5)
    pids: list[int] = []
    started = time.monotonic()
    with pytest.raises(RunTimeoutError) as info:
        pids += read_pids(s)
        for _ in s:
            pass
    assert time.monotonic() - started < 3
    assert info.value.idle is False
    assert "did not finish within 0.5 s" in str(info.value)
    assert "tick" in str(info.value)
    assert s.exit_code is not None and s.exit_code < 0
    assert gone(*pids)


def test_close_early_kills_child_and_grandchild(tmp_path: Path) -> None:
    child = script(tmp_path, FAMILY)
    s = stream([child], timeout=10, idle_timeout=None)
    pid, grandchild = read_pids(s)
    assert running(pid) and running(grandchild)
    started = time.monotonic()
    s.close()
    assert time.monotonic() - started < 1.0
    assert state(pid) is None  # reaped, no zombie
    assert gone(grandchild)
    assert s.exit_code == -signal.SIGINT  # SIGINT was enough
    assert list(s) == []
    s.close()  # idempotent


def test_leaving_the_with_block_kills_the_child(tmp_path: Path) -> None:
    child = script(tmp_path, FAMILY)
    with stream([child], timeout=10, idle_timeout=None) as s:
        pids = read_pids(s)
    assert gone(*pids)
    assert state(pids[0]) is None


@pytest.mark.parametrize("exc_type", [ValueError, KeyboardInterrupt])
def test_exception_in_consumer_inside_with_leaves_no_child(
    tmp_path: Path, exc_type: type[BaseException]
) -> None:
    child = script(tmp_path, FAMILY)
    pids: tuple[int, int] = (0, 0)
    with pytest.raises(exc_type), stream([child], timeout=10, idle_timeout=None) as s:
        pids = read_pids(s)
        for _ in s:
            raise exc_type("callback failed")
    assert pids[0] and gone(*pids)
    assert state(pids[0]) is None


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
def test_exception_in_bare_for_loop_leaves_no_child(
    tmp_path: Path, exc_type: type[BaseException]
) -> None:
    """No ``with``: dropping the iterator (CPython frees it as the loop unwinds) stops it."""
    child = script(tmp_path, FAMILY)
    pids: list[int] = []

    def consume() -> None:
        for chunk in stream([child], timeout=10, idle_timeout=None):
            match = PIDS_RE.search(chunk)
            if match:
                pids.extend(int(g) for g in match.groups())
            if pids:
                raise exc_type("callback failed")

    with pytest.raises(exc_type):
        consume()
    assert pids and gone(*pids)
    assert state(pids[0]) is None


def test_garbage_collected_stream_stops_its_child(tmp_path: Path) -> None:
    child = script(tmp_path, FAMILY)
    s: Stream | None = stream([child], timeout=10, idle_timeout=None)
    assert s is not None
    pids = read_pids(s)
    del s
    gc.collect()
    assert gone(*pids)


def test_keyboard_interrupt_inside_read_stops_the_child(tmp_path: Path) -> None:
    """Ctrl-C while the runner waits for output (the signal lands in select)."""
    child = script(
        tmp_path,
        """
        import os, time
        print(f"PIDS {os.getpid()}", flush=True)
        time.sleep(60)
        """,
    )
    s = stream([child], timeout=10, idle_timeout=None)
    pid, _ = read_pids(s)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(KeyboardInterrupt):
            for _ in s:
                pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert state(pid) is None
    assert s.exit_code == -signal.SIGINT


def test_stubborn_child_is_escalated_to_sigkill(tmp_path: Path) -> None:
    child = script(
        tmp_path,
        """
        import os, signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        print(f"PIDS {os.getpid()}", flush=True)
        while True:
            time.sleep(0.05)
        """,
    )
    s = stream([child], timeout=10, idle_timeout=None, grace=0.1)
    pid, _ = read_pids(s)
    started = time.monotonic()
    s.close()
    assert time.monotonic() - started < 1.5
    assert s.exit_code == -signal.SIGKILL
    assert state(pid) is None


def _read_until(proc: subprocess.Popen[bytes], pattern: re.Pattern[str], timeout: float) -> str:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = ""
    deadline = time.monotonic() + timeout
    while not ((m := pattern.search(seen)) and "\n" in seen[m.end() :]):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"timed out; read {seen!r}")
        data = os.read(fd, 4096)
        if not data:
            raise AssertionError(f"consumer ended; read {seen!r}")
        seen += data.decode("utf-8", "replace")
    return seen


def test_sigint_to_the_consumer_process_leaves_no_child(tmp_path: Path) -> None:
    """A real Ctrl-C: SIGINT to a consumer process iterating a stream (no ``with``)."""
    child = script(tmp_path, FAMILY)
    consumer = tmp_path / "consumer.py"
    consumer.write_text(
        textwrap.dedent(
            """
            import sys
            from lmsdrive.runner import stream
            for chunk in stream([sys.argv[1]], timeout=30, idle_timeout=None):
                sys.stdout.write(chunk)
                sys.stdout.flush()
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(consumer), str(child)], stdout=subprocess.PIPE, env=env
    )
    try:
        seen = _read_until(proc, PIDS_RE, 10)
        match = PIDS_RE.search(seen)
        assert match is not None
        pids = int(match.group(1)), int(match.group(2))
        assert running(pids[0]) and running(pids[1])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    assert gone(*pids)


def test_a_signal_during_the_fork_reaches_the_caller_and_leaves_no_child(tmp_path: Path) -> None:
    """SIGTERM or Ctrl-C while the child is being forked. Python runs its at-fork hooks
    (logging's lock release) in the parent, and ignores an exception raised in them: a
    handler that raises there (keep's stop, Ctrl-C's KeyboardInterrupt) was lost and the
    download went on. The signal is sent from an at-fork hook, so it lands in that window."""
    child = script(tmp_path, 'import time\nprint("up", flush=True)\ntime.sleep(60)\n')
    consumer = tmp_path / "consumer.py"
    consumer.write_text(
        textwrap.dedent(
            """
            import os, signal, sys
            from lmsdrive.runner import stream

            os.register_at_fork(before=lambda: os.kill(os.getpid(), signal.SIGINT))
            try:
                s = stream([sys.argv[1]], timeout=30, idle_timeout=None)
            except KeyboardInterrupt:
                try:
                    os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    sys.exit("interrupted; no child left")
                sys.exit("interrupted; a child left running")
            s.close()
            sys.exit("the signal was lost: the child started")
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(consumer), str(child)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.stderr.strip().splitlines()[-1:] == ["interrupted; no child left"], done.stderr


# -- detached servers -----------------------------------------------------------------------

SERVER = """
    import os, sys, time
    print("line1", flush=True)
    while not os.path.exists(sys.argv[1]):
        time.sleep(0.005)
    print("line2 é", file=sys.stderr, flush=True)
    while True:
        time.sleep(0.05)
"""


def _collect_until(chunks: Iterator[str], needle: str) -> str:
    seen = ""
    for chunk in chunks:
        seen += chunk
        if needle in seen:
            return seen
    raise AssertionError(f"{needle!r} never came; saw {seen!r}")


def test_spawn_detached_outlives_its_object_and_follow_sees_lines_live(tmp_path: Path) -> None:
    go = tmp_path / "go"
    log = tmp_path / "logs" / "server.log"
    log.parent.mkdir()
    log.write_text("an earlier run: Listening on 127.0.0.1:1\n")
    server = script(tmp_path, SERVER, "server")
    proc = spawn_detached([server, go], log_path=log, env={"MARK": "m"})
    pid = proc.pid
    assert proc.log_offset == len("an earlier run: Listening on 127.0.0.1:1\n")
    assert os.getsid(pid) == pid  # its own session: our Ctrl-C does not reach it
    lines = follow(log, offset=proc.log_offset, poll_interval=0.005)
    seen = _collect_until(lines, "line1\n")
    assert "earlier run" not in seen
    assert "line2" not in seen  # not written yet: follow saw line1 as it was written
    assert proc.poll() is None and proc.returncode is None
    go.touch()
    seen += _collect_until(lines, "line2 é\n")  # stderr goes to the same log
    lines.close()

    del proc
    gc.collect()
    time.sleep(0.05)
    assert running(pid)  # dropping the object does not stop the server

    os.killpg(pid, signal.SIGTERM)
    assert wait_until(lambda: state(pid) is None)  # reaped by us: no zombie


def test_detached_follow_ends_when_the_server_exits(tmp_path: Path) -> None:
    server = script(
        tmp_path,
        """
        import sys
        print("starting")
        print("Error: listen tcp 127.0.0.1:11434: bind: address already in use")
        sys.exit(1)
        """,
        "server",
    )
    proc = spawn_detached([server], log_path=tmp_path / "s.log")
    text = "".join(proc.follow(poll_interval=0.005))
    assert text == ("starting\nError: listen tcp 127.0.0.1:11434: bind: address already in use\n")
    assert proc.wait(timeout=5) == 1
    assert proc.returncode == 1 and proc.poll() == 1
    proc.terminate()  # after exit: a no-op, not an error


def test_detached_terminate_and_wait(tmp_path: Path) -> None:
    server = script(tmp_path, "import time\nprint('up', flush=True)\ntime.sleep(60)\n", "server")
    proc = spawn_detached([server], log_path=tmp_path / "s.log")
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.05)
    proc.terminate()
    assert proc.wait(timeout=5) == -signal.SIGTERM


def test_detached_server_outlives_the_process_that_started_it(tmp_path: Path) -> None:
    starter = tmp_path / "starter.py"
    starter.write_text(
        textwrap.dedent(
            f"""
            import sys
            from lmsdrive.runner import spawn_detached
            p = spawn_detached([sys.executable, "-c", "import time; time.sleep(30)"],
                               log_path={str(tmp_path / "s.log")!r})
            print(p.pid)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(starter)], capture_output=True, env=env, timeout=10, check=True
    )
    pid = int(out.stdout)
    try:
        time.sleep(0.05)
        assert running(pid)
    finally:
        os.killpg(pid, signal.SIGKILL)


def test_spawn_detached_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(NotInstalledError, match="no-such-server-xyz"):
        spawn_detached(["no-such-server-xyz", "serve"], log_path=tmp_path / "s.log")


# -- follow ---------------------------------------------------------------------------------


def test_follow_drains_what_was_written_before_stop(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("abc\n")
    assert list(follow(log, stop=lambda: True)) == ["abc\n"]
    assert "".join(follow(log, stop=lambda: True, offset=2)) == "c\n"


def test_follow_decodes_utf8_split_across_writes(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"caf\xc3")
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            with log.open("ab") as fh:
                fh.write(b"\xa9 \xff\n")
            return False
        return True

    assert "".join(follow(log, stop=stop, poll_interval=0.001)) == "café \ufffd\n"


def test_follow_waits_for_a_late_file_and_restarts_after_truncation(tmp_path: Path) -> None:
    log = tmp_path / "late.log"
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            log.write_text("0123456789\n")
        elif calls == 2:
            log.write_text("new\n")  # truncated and rewritten
        return calls > 2

    assert list(follow(log, stop=stop, poll_interval=0.001)) == ["0123456789\n", "new\n"]


def test_follow_without_stop_runs_until_closed(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("one\n")
    lines = follow(log, poll_interval=0.001)
    assert next(lines) == "one\n"
    with log.open("a") as fh:
        fh.write("two\n")
    assert next(lines) == "two\n"
    lines.close()
