"""The commands: each builds the library's objects, calls one library function, and shows
the outcome. Library imports are local so ``lmsdrive parse`` (and ``--help``) stay fast."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_MODEL_NOT_FOUND,
    EXIT_NOT_INSTALLED,
    EXIT_NOT_LOADED,
    EXIT_NOT_RUNNING,
    EXIT_NOT_STARTED_BY_LMSDRIVE,
    EXIT_OK,
    EXIT_PARSE_ERROR,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from ._ui import Ui, error, human_bytes

if TYPE_CHECKING:
    from ..driver import Driver, ModelReport
    from ._events import JsonLines

_RUN_INIT_HINT = "Run `lmsdrive init` to start it (and make the model ready)."


class Failure(Exception):
    """A handled failure: the message was worked out, only the exit status remains."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def exit_status(exc: BaseException) -> int:
    """The exit status for an error (see the table in :mod:`lmsdrive.cli`)."""
    from ..errors import (
        AuthenticationError,
        CommandTimeoutError,
        ConfigError,
        InvalidMessageError,
        InvalidModelNameError,
        ModelNotFoundError,
        NotInstalledError,
        NotStartedByLmsdriveError,
        ParseError,
        ServerNotRunningError,
        ServerStartError,
    )

    table: list[tuple[type[BaseException] | tuple[type[BaseException], ...], int]] = [
        ((ConfigError, InvalidModelNameError, InvalidMessageError), EXIT_USAGE),
        (NotInstalledError, EXIT_NOT_INSTALLED),
        ((ServerNotRunningError, ServerStartError), EXIT_NOT_RUNNING),
        (ModelNotFoundError, EXIT_MODEL_NOT_FOUND),
        (ParseError, EXIT_PARSE_ERROR),
        (CommandTimeoutError, EXIT_TIMEOUT),
        (AuthenticationError, EXIT_AUTH),
        (NotStartedByLmsdriveError, EXIT_NOT_STARTED_BY_LMSDRIVE),
    ]
    for kinds, status in table:
        if isinstance(exc, kinds):
            return status
    return EXIT_FAILED


#: The exit status of a run over several models is the worst of theirs, in this order.
WORST_FIRST = (
    EXIT_USAGE,
    EXIT_NOT_INSTALLED,
    EXIT_NOT_RUNNING,
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_PARSE_ERROR,
    EXIT_MODEL_NOT_FOUND,
    EXIT_NOT_LOADED,
    EXIT_TIMEOUT,
)


def worst_status(statuses: list[int]) -> int:
    """The exit status of a whole run: 0 when every part is 0, else the worst.

    >>> worst_status([0, 9, 5]), worst_status([0, 0]), worst_status([130, 5])
    (5, 0, 130)
    """
    bad = [s for s in statuses if s != EXIT_OK]
    rank = {s: i for i, s in enumerate(WORST_FIRST)}
    return min(bad, key=lambda s: rank.get(s, -1)) if bad else EXIT_OK


def _models_arg(args: argparse.Namespace, model: str | None) -> str | None:
    """The models the command line names (``--model`` may repeat), comma-joined."""
    given = model or getattr(args, "model", None)
    if isinstance(given, list):
        return ",".join(given) or None
    return given


def _json_log(args: argparse.Namespace, command: str) -> JsonLines | None:
    """With ``--json``, the command's JSON-lines event stream (kept on ``args`` so a
    failure still ends it with a ``result`` event)."""
    if not getattr(args, "json", False):
        return None
    from ._events import JsonLines

    backend = getattr(args, "backend", None) or os.environ.get("BACKEND") or "ollama"
    log = args.json_log = JsonLines(command, backend.strip().lower())
    return log


def _config(args: argparse.Namespace, model: str | None = None) -> Any:
    from ..config import Config

    return Config.from_env(
        backend=getattr(args, "backend", None),
        model_name=_models_arg(args, model),
        url=getattr(args, "url", None),
        api_token=_token_file(getattr(args, "token_file", None)),
    )


def _token_file(path: str | None) -> str | None:
    """The token in ``--token-file PATH`` (its first line); errors never show the content."""
    from ..errors import ConfigError

    if not path:
        return None
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"--token-file {path}: cannot read it ({why})") from None
    token = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not token:
        raise ConfigError(f"--token-file {path}: the file is empty; put the API token in it")
    return token


def _load_options(args: argparse.Namespace) -> Any:
    """The :class:`LoadOptions` of ``--context-length --gpu --ttl --identifier``."""
    from .._types import LoadOptions

    return LoadOptions(
        context_length=getattr(args, "context_length", None),
        gpu=getattr(args, "gpu", None),
        ttl=getattr(args, "ttl", None),
        identifier=getattr(args, "identifier", None),
    )


@contextmanager
def _driver(args: argparse.Namespace, model: str | None = None) -> Iterator[Driver]:
    """A Driver for the configuration; every library error leaving the block becomes a
    :class:`Failure` with the friendly message and its exit status."""
    from ..driver import Driver, friendly_message
    from ..errors import AuthenticationError, LmsdriveError, ServerNotRunningError

    try:
        config = _config(args, model)
    except LmsdriveError as exc:
        raise Failure(str(exc), exit_status(exc)) from exc
    driver = Driver(config)
    try:
        yield driver
    except (LmsdriveError, OSError) as exc:
        try:
            model_name = config.model_for_backend()
        except LmsdriveError:  # the name is what failed: the message says so already
            model_name = None
        message = friendly_message(config.backend, model_name, exc)
        if isinstance(exc, ServerNotRunningError) and exc.startable:
            message = f"{message}\n{_RUN_INIT_HINT}"
        message += _model_hint(exc) + _token_hint(args, isinstance(exc, AuthenticationError))
        raise Failure(message, exit_status(exc)) from exc
    finally:
        driver.close()


def _model_hint(exc: BaseException) -> str:
    """The command that fixes a model the server does not have: pull it, or load it."""
    from ..errors import ModelNotFoundError

    if not isinstance(exc, ModelNotFoundError) or not exc.local or not exc.model:
        return ""
    if exc.downloaded is False:
        return f"\nRun `lmsdrive pull {exc.model}` to download it."
    if exc.downloaded:
        return f"\nRun `lmsdrive load {exc.model}` to load it."
    return ""


def _end_json_log(args: argparse.Namespace, status: int, message: str) -> None:
    """With ``--json``, a failed run's last events: the model under way, the result."""
    log: JsonLines | None = getattr(args, "json_log", None)
    if log is not None:
        log.fail(status, message)


def _token_hint(args: argparse.Namespace, refused: bool) -> str:
    """The CLI's other way to give a ``refused`` token: ``--token-file``."""
    if not refused:
        return ""
    path = getattr(args, "token_file", None)
    if path:
        return f"\nThe token sent is the first line of --token-file {path}."
    return "\nOr pass --token-file PATH (a file whose first line is the token)."


def _handled(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except Failure as exc:
            error(str(exc))
            _end_json_log(args, exc.status, str(exc))
            return exc.status
        except KeyboardInterrupt:  # main() says so on stderr and exits 130
            _end_json_log(args, EXIT_INTERRUPTED, "interrupted")
            raise

    run.__doc__ = func.__doc__
    return run


def _not_utf8(what: str) -> Failure:
    return Failure(
        f"{what} is not valid UTF-8 text: convert it first (e.g. `iconv -f LATIN1 -t UTF-8`)",
        EXIT_USAGE,
    )


def _utf8(text: str, what: str) -> str:
    """``text`` (a prompt, a message) when it is valid UTF-8. Invalid bytes in argv (and in a
    surrogateescape stdin) reach Python as lone surrogates that no request can encode: they
    are refused here, exit 2, instead of a UnicodeEncodeError in the request."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _not_utf8(what) from None
    return text


def _dump(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2), flush=True)


# -- status ------------------------------------------------------------------------------
def _yes(flag: bool | None, yes: str = "yes", no: str = "no") -> str:
    return "?" if flag is None else (yes if flag else no)


@_handled
def cmd_status(args: argparse.Namespace) -> int:
    """Installed, version, server, models: a table (or ``--json``)."""
    log = _json_log(args, "status")
    with _driver(args) as driver:
        st = driver.status()
    if log is not None:  # one line: the status is the result
        log.emit("status", **st.to_dict(), exit_status=EXIT_OK)
        return EXIT_OK
    ui = Ui()
    rows = [
        ["Backend", st.display_name],
        ["Installed", f"yes: {st.binary}" if st.installed else "no"],
        ["Version", st.version or "?"],
        ["Server", f"{st.url} ({'running' if st.running else 'not running'})"],
    ]
    if st.daemon is not None:
        d = st.daemon
        rows.append(["Daemon", ("running" + _daemon_detail(d)) if d.running else "not running"])
    if st.model:
        rows.append(
            [
                "Model",
                f"{st.model}: downloaded {_yes(st.model_downloaded)}, "
                f"loaded {_yes(st.model_loaded)}" + (" (ready)" if st.ready else ""),
            ]
        )
    else:
        rows.append(["Model", "(none configured: set MODEL_NAME or --model)"])
    ui.table(None, [], rows)
    if st.downloaded is not None or st.loaded is not None:
        loaded = {m.name for m in st.loaded or []} | {m.identifier for m in st.loaded or []}
        names = [m.name for m in st.downloaded or []]
        names += [m.name for m in st.loaded or [] if m.name not in names]
        sizes = {m.name: m.size_bytes for m in st.downloaded or []}
        table = [
            [
                n,
                human_bytes(sizes[n]) if sizes.get(n) else "",
                _yes(n in loaded) if st.loaded is not None else "?",
            ]
            for n in names
        ]
        ui.line()
        if table:
            ui.table("Models", ["NAME", "SIZE", "LOADED"], table)
        else:
            ui.line("Models: none downloaded")
    for note in st.notes:
        ui.line(f"Note: {note}")
    for problem in st.problems:
        error(problem)
    return EXIT_OK


@_handled
def cmd_daemon(args: argparse.Namespace) -> int:
    """``lms daemon up|down|status`` through the driver; the state as text or ``--json``."""
    with _driver(args) as driver:
        if args.action == "down":
            outcome = driver.daemon_down()
            state = driver.daemon_status()
        else:
            outcome = None
            state = driver.daemon_up() if args.action == "up" else driver.daemon_status()
    shown = None if state is None else dataclasses.asdict(state)
    if args.json:
        _dump({"action": args.action, "outcome": outcome, "daemon": shown})
        return EXIT_OK
    ui = Ui()
    if state is None:
        notes = driver.backend.notes  # an lms too old to have one says so
        ui.line(
            f"Note: {notes[0]}" if notes else f"{driver.config.runtime.display_name} has no daemon."
        )
    elif state.running:
        ui.ok(f"The daemon is running{_daemon_detail(state)}.")
    else:
        ui.line("The daemon is not running" + (" (stopped)." if outcome == "stopped" else "."))
    return EXIT_OK


def _daemon_detail(state: Any) -> str:
    what = "llmster" if state.is_daemon else "the LM Studio app" if state.is_daemon is False else ""
    parts = [
        p
        for p in (what, state.version and f"v{state.version}", state.pid and f"PID {state.pid}")
        if p
    ]
    return f" ({', '.join(parts)})" if parts else ""


# -- init / pull -------------------------------------------------------------------------
class _Steps:
    """Step announcements and the progress view between them."""

    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self.view: Any = None

    def step(self, text: str) -> None:
        self.close()
        self.ui.step(text)

    def progress(self, event: Any) -> None:
        if self.view is None:
            self.view = self.ui.progress()
        self.view.update(event)

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None


@_handled
def cmd_init(args: argparse.Namespace) -> int:
    """The ensure_ready flow for each model, each step shown, progress during downloads;
    the exit status is the worst of the models' (:data:`WORST_FIRST`)."""
    log = _json_log(args, "init")
    ui = Ui(quiet=args.json)
    steps = _Steps(ui)
    with _driver(args, args.model_arg) as driver:
        names = driver.model_names
        url = driver.config.backend_url()
        if log is not None:
            log.begin(url, names)
        else:
            where = f"{driver.config.runtime.display_name} at {url}"
            ui.step(f"{where}: making {', '.join(names)} ready")

        def model_done(r: ModelReport) -> None:
            if log is not None:
                status = EXIT_OK if r.success else exit_status(r.error or Exception())
                log.model_result(
                    r.model, r.success, status, r.message, steps_performed=r.steps_performed
                )

        try:
            report = driver.ensure_ready(
                on_progress=steps.progress if log is None else log.progress,
                on_step=steps.step if log is None else log.step,
                start_timeout=args.timeout,
                load_options=_load_options(args),
                models=names,
                on_model=None if log is None else log.for_model,
                on_model_done=model_done,
                check_fit=args.check_fit,
            )
        finally:
            steps.close()
            if args.stop_after and driver.started is not None:
                driver.stop_server()  # only the one this run started
                stopped = f"Stopped the {driver.backend.display_name} server init started"
                if log is not None:
                    log.step(stopped)
                else:
                    ui.step(stopped)
    statuses = [
        EXIT_OK if r.success else exit_status(r.error or Exception()) for r in report.models
    ]
    if not report.models and not report.success:
        statuses = [exit_status(report.error or Exception())]
    status = worst_status(statuses)
    if log is not None:
        log.result(status, report.message, steps_performed=report.steps_performed)
        return status
    for r in report.models:
        (ui.ok if r.success else error)(r.message)
    if not report.models:
        error(report.message)
    return status


def _begin_one(log: JsonLines | None, ui: Ui, driver: Driver, doing: str) -> str:
    """The configured model, and "``doing`` it" said (an event with ``--json``)."""
    name = driver.model
    if log is None:
        ui.step(f"{doing} {name} with {driver.config.runtime.display_name}")
        return name
    log.begin(driver.config.backend_url(), [name])
    log.for_model(name)
    log.step(f"{doing} model {name}")
    return name


def _done_one(log: JsonLines | None, ui: Ui, name: str, message: str, **extra: Any) -> int:
    if log is None:
        ui.ok(message)
    else:
        log.model_result(name, True, EXIT_OK, message, **extra)
        log.result(EXIT_OK, message)
    return EXIT_OK


@_handled
def cmd_fit(args: argparse.Namespace) -> int:
    """Will the model fit: the verdict and its numbers (``--json``: one object, also when
    the estimate fails: verdict ``unknown``, the message, the error's kind)."""
    try:
        with _driver(args, args.model_arg) as driver:
            est = driver.estimate(options=_load_options(args))
    except Failure as exc:
        if args.json:
            kind = getattr(exc.__cause__, "kind", "error")
            model = _models_arg(args, args.model_arg) or os.environ.get("MODEL_NAME")
            _dump(
                {"model": model, "verdict": "unknown", "fits": False, "reason": str(exc)}
                | {"error": kind, "exit_status": exc.status}
            )
        raise
    status = EXIT_OK if est.fits else EXIT_FAILED
    if args.json:
        _dump(est.to_dict())
        return status
    ui = Ui()
    word = {
        "fits": "fits",
        "partial": "fits partly on the GPU",
        "does_not_fit": "does not fit",
        "unknown": "cannot be told",
    }[est.verdict]
    rows = [["Model", est.model], ["Verdict", word], ["Needs", human_bytes(est.needed_bytes)]]
    if est.gpu_bytes is not None:
        rows.append(["On the GPU", human_bytes(est.gpu_bytes)])
    if est.ram_bytes is not None:
        rows.append(["RAM free", human_bytes(est.ram_bytes)])
    if est.vram_bytes is not None:
        rows.append(["VRAM free", human_bytes(est.vram_bytes)])
    if est.context_length is not None:
        rows.append(["Context", f"{est.context_length} tokens"])
    rows.append(["Source", est.source])
    ui.table(None, [], rows)
    (ui.ok if est.fits else error)(est.reason)
    return status


@_handled
def cmd_stop(args: argparse.Namespace) -> int:
    """Stop the server lmsdrive started; a server it did not start is refused (exit 11)."""
    with _driver(args) as driver:
        outcome = driver.stop_server(args.timeout)
        where = f"{driver.backend.display_name} server at {driver.backend.url}"
    Ui().ok(f"Stopped the {where}" if outcome == "stopped" else f"No {where} is running")
    return EXIT_OK


# -- keep --------------------------------------------------------------------------------
@_handled
def cmd_keep(args: argparse.Namespace) -> int:
    """Hold the models loaded until SIGTERM (exit 0) or too many failures in a row. Each
    event is a line ``TIME EVENT: MESSAGE``, or (``--json``) a JSON-lines event."""
    log = _json_log(args, "keep")
    steps = _Steps(Ui(quiet=args.json))

    def on_event(ev: Any) -> None:
        steps.close()
        if log is not None:
            log.keep_event(ev)
        else:
            print(f"{ev.to_dict()['ts']} {ev.event}: {ev.message}", flush=True)

    # MODEL [MODEL...], else --model (repeated) / MODEL_NAME (a list): as init and check
    with _driver(args, ",".join(args.models) or None) as driver:
        keeper = driver._keeper(
            driver.model_names,
            interval=args.interval,
            max_failures=args.max_failures,
            refresh_before=args.refresh_before,
            load_options=_load_options(args),
            on_event=on_event,
            on_progress=steps.progress if log is None else log.progress,
        )
        if log is not None:
            log.begin(driver.config.backend_url(), keeper.models)
        try:
            keeper.run(handle_signals=True)
        finally:
            steps.close()
    if log is not None:
        log.result(EXIT_OK, "keep stopped on a signal; the models were left loaded")
    return EXIT_OK


@_handled
def cmd_pull(args: argparse.Namespace) -> int:
    """Download a model with a progress bar (``--json``: events; ``--update``: again, saying
    whether it changed); a model already there is said so once."""
    if args.update:
        return _pull_update(args)
    log = _json_log(args, "pull")
    ui = Ui(quiet=args.json)
    with _driver(args, args.model_arg) as driver:
        name = _begin_one(log, ui, driver, "Downloading")
        events = driver.pull()
        try:
            with ui.progress() as view:
                for event in events:
                    view.update(event)
                    if log is not None:
                        log.progress(event)
        finally:
            events.close()
    message = f"{name} was already downloaded" if view.already else f"Downloaded {name}"
    return _done_one(log, ui, name, message, already_downloaded=view.already)


def _pull_update(args: argparse.Namespace) -> int:
    log = _json_log(args, "pull")
    ui = Ui(quiet=args.json)
    steps = _Steps(ui)
    with _driver(args, args.model_arg) as driver:
        name = _begin_one(log, ui, driver, "Updating")
        try:
            report = driver.update(on_progress=steps.progress if log is None else log.progress)
        finally:
            steps.close()
    what = report.compared
    if report.digest_before is None:
        message = (
            f"Downloaded {name} ({what} {_short(report.digest_after)}): it was not here before"
        )
    elif report.changed:
        before, after = _short(report.digest_before), _short(report.digest_after)
        message = f"Updated {name}: {what} {before} → {after}"
    else:
        message = f"{name} is already up to date ({what} {_short(report.digest_before)})"
    extra = {k: v for k, v in report.to_dict().items() if k != "model"}
    return _done_one(log, ui, name, message, **extra)


def _short(digest: str | None) -> str:
    return "?" if digest is None else digest.removeprefix("sha256:")[:12]


@_handled
def cmd_load(args: argparse.Namespace) -> int:
    from ..driver import context_note

    log = _json_log(args, "load")
    ui = Ui(quiet=args.json)
    with _driver(args, args.model_arg) as driver:
        name = _begin_one(log, ui, driver, "Loading")
        options = _load_options(args)
        loaded = driver.load(options=options)
    shown = f" as {loaded.identifier}" if loaded.identifier != name else ""
    message = (
        f"{name} was already loaded{shown}. {context_note(name, loaded, options)}".rstrip()
        if loaded.already_loaded
        else f"Loaded {name}{shown}"
    )
    return _done_one(
        log, ui, name, message, identifier=loaded.identifier, already_loaded=loaded.already_loaded
    )


#: The exit status of each problem a health check finds.
CHECK_STATUS = {
    None: EXIT_OK,
    "server_down": EXIT_NOT_RUNNING,
    "auth": EXIT_AUTH,
    "failed": EXIT_FAILED,
    "model_missing": EXIT_MODEL_NOT_FOUND,
    "not_loaded": EXIT_NOT_LOADED,
    "no_answer": EXIT_TIMEOUT,
}


@_handled
def cmd_check(args: argparse.Namespace) -> int:
    """The read-only health check: exit 0 only when the server answers and every model is
    downloaded and loaded (``--answer``: and answers one token within ``--timeout``)."""
    log = _json_log(args, "check")
    with _driver(args) as driver:
        names = driver.model_names
        result = driver.check(names, answer=args.answer, timeout=args.timeout)
    status = CHECK_STATUS[result.problem]
    message = result.message + _token_hint(args, result.problem == "auth")
    if log is not None:
        log.begin(result.url, names)
        for m in result.models:
            log.model_result(
                m.model,
                m.ok,
                CHECK_STATUS[m.problem],
                m.message,
                problem=m.problem,
                downloaded=m.downloaded,
                loaded=m.loaded,
                answered=m.answered,
                answer_seconds=m.answer_seconds,
            )
        log.result(
            status,
            message,
            url=result.url,
            problem=result.problem,
            server_up=result.server_up,
            auth_ok=result.auth_ok,
            seconds=round(result.seconds, 4),
        )
        return status
    if result.ok:
        Ui().ok(f"{message} ({result.seconds * 1000:.0f} ms)")
    else:
        error(message)
    return status


def _on_model(
    args: argparse.Namespace,
    command: str,
    act: Callable[[Driver], bool | None],
    doing: str,
    done: str,
    undone: str = "",
) -> int:
    """One action on one model (``unload``, ``rm``), said as ``load`` says its own; ``OK
    MODEL <undone>`` when ``act`` says there was nothing to do."""
    log = _json_log(args, command)
    ui = Ui(quiet=args.json)
    with _driver(args, args.model_arg) as driver:
        name = _begin_one(log, ui, driver, doing)
        did = act(driver)
    return _done_one(log, ui, name, f"{name} {undone}" if did is False else f"{done} {name}")


@_handled
def cmd_unload(args: argparse.Namespace) -> int:
    """Unload the model; one not loaded (but downloaded) is said so, exit 0 (both backends)."""
    return _on_model(
        args, "unload", lambda d: d.unload(), "Unloading", "Unloaded", undone="was not loaded"
    )


@_handled
def cmd_rm(args: argparse.Namespace) -> int:
    return _on_model(args, "rm", lambda d: d.delete(), "Deleting", "Deleted")


def _sampling(args: argparse.Namespace) -> dict[str, Any]:
    """The ``generate``/``chat`` keywords of ``--temperature --max-tokens --keep-alive``
    (unset: not sent, the model's own defaults)."""
    keep = args.keep_alive
    if keep is not None and keep.lstrip("-").replace(".", "", 1).isdigit():
        keep = float(keep) if "." in keep else int(keep)  # seconds; else a duration ("10m")
    return {"temperature": args.temperature, "max_tokens": args.max_tokens, "keep_alive": keep}


def _warn_if_cut(result: Any) -> None:
    """Say on stderr that the token limit cut the answer (stdout keeps only the answer)."""
    if result is not None and result.finish_reason == "length":
        limit = (
            "--max-tokens"
            if result.completion_tokens is None
            else (f"--max-tokens (it stopped after {result.completion_tokens} tokens)")
        )
        error(f"warning: the answer was cut by the token limit: raise {limit}")


@_handled
def cmd_generate(args: argparse.Namespace) -> int:
    """Stream the answer's pieces to stdout as they arrive (``--json``: the whole answer).
    An answer cut by the token limit is said on stderr."""
    import sys

    if not _utf8(args.prompt, "the prompt").strip():
        raise Failure(
            'generate: the prompt is empty: give the text to answer, e.g. lmsdrive generate "Why '
            'is the sky blue?"',
            EXIT_USAGE,
        )
    with _driver(args) as driver:
        if args.json:
            gen = driver.generate(args.prompt, **_sampling(args))
            _dump(dataclasses.asdict(gen))
            _warn_if_cut(gen)
            return EXIT_OK
        wrote = ""
        pieces = driver.generate_stream(args.prompt, **_sampling(args))
        try:
            for piece in pieces:
                sys.stdout.write(piece)
                sys.stdout.flush()
                wrote = piece or wrote
        finally:
            if wrote and not wrote.endswith("\n"):
                sys.stdout.write("\n")
                sys.stdout.flush()
        _warn_if_cut(pieces.result)
    return EXIT_OK


# -- chat / embed ------------------------------------------------------------------------
def _chat_reply(driver: Driver, messages: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """One answer: streamed to stdout (``--json``: printed whole as JSON); its text."""
    import sys

    kw: dict[str, Any] = {**_sampling(args), "format": args.schema, "think": args.think}
    if args.json:
        reply = driver.chat(messages, **kw)
        _warn_if_cut(reply)
        # the answer parsed beside its text (as the MCP shim's "json"); one that does not
        # fit the schema fails, showing it
        value = reply.json() if args.schema is not None else None
        data = {k: v for k, v in dataclasses.asdict(reply).items() if k != "format"}
        _dump({**data, "json": value})
        return reply.text
    with driver.chat_stream(messages, **kw) as stream:
        for piece in stream:
            sys.stdout.write(piece)
            sys.stdout.flush()
    sys.stdout.write("\n")
    sys.stdout.flush()
    assert stream.result is not None
    _warn_if_cut(stream.result)
    if args.schema is not None:
        stream.result.json()
    return stream.result.text


@_handled
def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation: a REPL with history on a terminal (see :mod:`lmsdrive.cli._chat`);
    the whole of stdin as one message when piped."""
    import sys

    args.schema = None
    if args.json_schema:
        try:
            args.schema = json.loads(Path(args.json_schema).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            why = f"chat: cannot read the JSON schema {args.json_schema}: {exc}"
            raise Failure(why, EXIT_USAGE) from exc
        if not isinstance(args.schema, dict):
            why = f"chat: {args.json_schema} is not a JSON schema (an object)"
            raise Failure(why, EXIT_USAGE)
    messages: list[dict[str, str]] = []
    if args.system:
        messages.append({"role": "system", "content": _utf8(args.system, "--system")})
    with _driver(args) as driver:
        if not sys.stdin.isatty():
            what = "the message on stdin"
            try:
                text = _utf8(sys.stdin.read(), what).strip()
            except UnicodeDecodeError:  # a strict stdin (not surrogateescape)
                raise _not_utf8(what) from None
            if not text:
                raise Failure("chat: stdin is empty: pipe the message to send", EXIT_USAGE)
            ask: dict[str, Any] = {"role": "user", "content": text}
            if args.image:
                ask["images"] = [Path(p) for p in args.image]  # a file that is not: exit 2
            _chat_reply(driver, [*messages, ask], args)
            return EXIT_OK
        if args.image:
            raise Failure(
                "chat: --image goes with a piped message, e.g. echo 'What is this?' | "
                "lmsdrive chat --image photo.jpg",
                EXIT_USAGE,
            )
        _check_model(driver)
        title = f"Chatting with {driver.model} ({driver.config.runtime.display_name})"

    def answer(conversation: list[dict[str, str]]) -> str:
        _utf8(conversation[-1]["content"], "the message")
        with _driver(args) as turn_driver:  # an error: the message every command gives
            return _chat_reply(turn_driver, conversation, args)

    from ._chat import run_repl

    run_repl(title, messages, answer)
    return EXIT_OK


def _check_model(driver: Driver) -> None:
    """The configured model is on the server (downloaded, or loaded under that name):
    a REPL checks it before its first prompt rather than at the first message."""
    from ..errors import ModelNotFoundError
    from ..model_ref import ModelRef

    name, runtime = driver.model, driver.config.runtime
    ref = ModelRef.parse(name)
    if any(runtime.matches(ref, m.name) for m in driver.models()):
        return
    if any(runtime.matches(ref, m.identifier) for m in driver.loaded_models()):
        return
    raise ModelNotFoundError(runtime.model_missing(name), local=True)


@_handled
def cmd_embed(args: argparse.Namespace) -> int:
    """Print one JSON array per text, in order, one line each (JSON lines)."""
    texts = [_utf8(t, f"TEXT {i}") for i, t in enumerate(args.texts, 1)]
    with _driver(args) as driver:
        vectors = driver.embed(texts)
    for vector in vectors:
        print(json.dumps(vector), flush=True)
    return EXIT_OK


# -- record / fixtures -------------------------------------------------------------------
@_handled
def cmd_record(args: argparse.Namespace) -> int:
    """Run a runtime command and save its transcript as a fixture."""
    from ..errors import LmsdriveError
    from ..golden.record import record_fixture

    try:
        rec = record_fixture(
            args.argv, args.dir, name=args.name, timeout=args.timeout, overwrite=args.force
        )
    except ValueError as exc:
        raise Failure(f"record: {exc}", EXIT_USAGE) from exc
    except FileExistsError as exc:
        raise Failure(f"record: {exc}", EXIT_FAILED) from exc
    except LmsdriveError as exc:
        raise Failure(f"record: {exc}", exit_status(exc)) from exc
    ui = Ui()
    meta = rec.meta
    ui.ok(
        f"Recorded `{shlex.join(args.argv)}` (exit {meta['exit_code']}, "
        f"version {meta['version'] or '?'}) as {rec.text_path} (+ .json), parser "
        f"{meta['parser']!r}"
    )
    if rec.parse_error is not None:
        error(f"saved, but its parser cannot read it: {rec.parse_error}")
        return EXIT_PARSE_ERROR
    tree = "" if args.dir == "fixtures" else " " + shlex.quote(args.dir)
    if meta.get("expected"):
        ui.line(f"It kept its baseline: `lmsdrive fixtures check{tree}` shows what changed.")
    else:
        ui.line(f"`lmsdrive fixtures accept{tree}` makes what it read the baseline to check.")
    return EXIT_OK


def _default_fixture_dir() -> Path:
    here = Path("fixtures")
    if here.is_dir():
        return here
    from ..golden import DEFAULT_ROOT

    return DEFAULT_ROOT


@_handled
def cmd_fixtures_check(args: argparse.Namespace) -> int:
    """Re-parse a fixture tree against its snapshots: the golden-regression report."""
    from ..golden.check import check_fixtures

    root = Path(args.dir) if args.dir else _default_fixture_dir()
    try:
        checks = list(check_fixtures(root, args.snapshots))
    except FileNotFoundError as exc:
        raise Failure(str(exc), EXIT_USAGE) from exc
    failed = [c for c in checks if c.failed]
    counts = {
        s: sum(c.status == s for c in checks) for s in ("same", "changed", "error", "unchecked")
    }
    if args.json:
        _dump({"root": str(root), "counts": counts, "fixtures": [c.to_dict() for c in checks]})
        return EXIT_FAILED if failed else EXIT_OK
    ui = Ui()
    for c in checks:
        if not (c.failed or args.verbose):
            continue
        against = f", against its {c.baseline}" if c.baseline else ""
        ui.line(f"{c.status.upper():9} {c.case_id} ({c.parser}{against})")
        for d in c.differences:
            ui.line(f"          {d}")
    ui.line(
        f"{len(checks)} fixtures: {counts['same']} same, {counts['changed']} changed, "
        f"{counts['error']} no longer parse, {counts['unchecked']} without a baseline"
    )
    for hint in _accept_hints(checks, args.dir):
        ui.line(hint)
    return EXIT_FAILED if failed else EXIT_OK


def _accept_hints(checks: list[Any], folder: str | None) -> list[str]:
    """What ``fixtures check`` tells a user to run next."""
    accept = shlex.join(["lmsdrive", "fixtures", "accept", *([folder] if folder else [])])
    hints = []
    if any(c.status == "unchecked" for c in checks):
        hints.append(f"Without a baseline, nothing is compared: `{accept}` writes them.")
    changed = [c.case_id for c in checks if c.status == "changed"]
    if changed:
        cases = " ".join(f"--case {shlex.quote(c)}" for c in changed)
        hints.append(f"If the new reading is right (a runtime upgrade): `{accept} {cases}`.")
    if any(c.status == "error" for c in checks):
        hints.append("A fixture that no longer parses needs the parser fixed, not accepted.")
    return hints


@_handled
def cmd_fixtures_accept(args: argparse.Namespace) -> int:
    """Write baselines from what parses now: the cases without one, or the named ones."""
    from ..golden.accept import UnknownCaseError, accept_fixtures, flatten

    root = Path(args.dir or "fixtures")
    if not args.dir and not root.is_dir():
        why = "fixtures accept: no ./fixtures here: name the fixture tree (`fixtures accept DIR`)"
        raise Failure(why, EXIT_USAGE)
    try:
        accepted = accept_fixtures(root, args.case or (), args.snapshots)
    except (FileNotFoundError, UnknownCaseError) as exc:
        raise Failure(f"fixtures accept: {exc}", EXIT_USAGE) from exc
    failed = [a for a in accepted if a.error]
    if args.json:
        _dump({"root": str(root), "accepted": [a.to_dict() for a in accepted]})
        return EXIT_FAILED if failed else EXIT_OK
    ui = Ui()
    for a in accepted:
        if a.error:
            ui.line(f"NOT WRITTEN {a.case_id}: {a.error}")
            continue
        ui.line(f"ACCEPTED  {a.case_id} → {a.written_to}")
        if a.differences is None:
            lines = flatten(a.facts)
            shown = lines[: args.show]
            more = len(lines) - len(shown)
            tail = [f"… and {more} more in {a.written_to}"] if more else []
            for d in [*shown, *tail]:
                ui.line(f"          {d}")
        else:
            for d in a.differences or ["(the same as its previous baseline)"]:
                ui.line(f"          {d}")
    if not accepted:
        ui.line("Nothing to accept: every case has a baseline (--case NAME re-baselines one).")
    else:
        n = len(accepted) - len(failed)
        ui.line(f"{n} baseline{'' if n == 1 else 's'} written, {len(failed)} not written.")
    return EXIT_FAILED if failed else EXIT_OK
