"""The benchmark runs: every section at tiny sizes, every row present, every number sane.

No timing is asserted here (figures depend on the machine): only the shape of what
``make bench`` prints — rows present, numbers positive, skipped rows with a reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import gen  # noqa: E402
from bench.common import Row, render_table  # noqa: E402

pytestmark = pytest.mark.slow


def test_generated_tables_parse_to_every_row() -> None:
    from lmsdrive.parsers import lms_ls, ollama_list
    from lmsdrive.transcript import Transcript

    for n in (0, 1, 37):
        o = ollama_list.parse(Transcript(stdout=gen.ollama_list_table(n), argv=("ollama", "list")))
        assert len(o.models) == n
    for n in (1, 37):
        lm = lms_ls.parse(Transcript(stdout=gen.lms_ls_table(n), argv=("lms", "ls")))
        assert len(lm.models) == n


def test_generated_pull_stream_is_a_whole_successful_pull() -> None:
    from lmsdrive.parsers import ollama_pull

    text = gen.ollama_pull_stream(40_000)
    assert "\x1b[?2026h" in text and "\x1b[A" in text and "\x1b[K" in text
    assert 30_000 < len(text.encode()) < 60_000
    events = list(ollama_pull.stream(gen.chunks(text, 1000)))
    assert events and events[-1].overall_percent == 100.0
    percents = [e.overall_percent for e in events if e.overall_percent is not None]
    assert percents == sorted(percents)


def test_table_renders_every_row_and_skip_reason() -> None:
    rows = [
        Row("1 parse", "m", "lmsdrive", 0.002, "s", "base", 0.001, "note"),
        Row("3 import", "m", "peer", skipped="peer not installed"),
    ]
    text = render_table(rows)
    assert "2.00x" in text and "skipped: peer not installed" in text
    assert rows[0].ratio == pytest.approx(2.0)
    assert rows[1].ratio is None


def test_quick_bench_run_prints_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = dict(os.environ, LMSDRIVE_BENCH_VENV=str(tmp_path / "no-venv"))
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--no-peers",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    rows = data["rows"]
    sections = {row["section"] for row in rows}
    assert sections == {"1 parse", "2 vs jc", "3 import", "4 http", "5 driver"}
    for row in rows:
        assert row["measure"] and row["subject"]
        if row["skipped"] is not None:
            assert row["skipped"].strip(), row  # a reason, never silently missing
            continue
        assert row["value"] is not None, row
        if row["unit"] == "n":  # counts (process spawns) may be zero
            assert row["value"] >= 0, row
        else:
            assert row["value"] > 0, row
        if row["baseline"]:
            assert row["base_value"] is not None and row["base_value"] > 0, row
            assert row["ratio"] is not None and row["ratio"] >= 0, row
    measured = [row for row in rows if row["skipped"] is None]
    subjects = {row["subject"] for row in measured}
    assert "lmsdrive ollama_pull.stream" in subjects
    assert "lmsdrive Driver.ensure_ready" in subjects
    assert "lmsdrive OllamaAPI.generate" in subjects
    # without the peers' venv, each peer's row says why instead of vanishing
    skipped = {row["subject"]: row["skipped"] for row in rows if row["skipped"] is not None}
    assert "ollama.Client.generate" in skipped and "openai chat.completions" in skipped
    assert any(s.startswith("lmsdrive vs ollama") for s in skipped)
    assert "jc --asciitable" in skipped
    # the printed table holds the same rows
    assert r.stdout.count("\n") >= len(rows)
    assert "skipped: " in r.stdout
