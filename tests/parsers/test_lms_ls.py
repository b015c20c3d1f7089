"""Tests of lmsdrive.parsers.lms_ls."""

from __future__ import annotations

import pytest
from _support import parse

from lmsdrive.errors import ParseError
from lmsdrive.parsers import parse as parse_any
from lmsdrive.parsers.lms_ls import LsResult


def test_ls_tab_expanded_and_unknown_column() -> None:
    text = "LLM\t\t\t\tPARAMS\tARCH\tSIZE\tQUANT\nqwen/qwen3-4b\t\t\t4B\tqwen3\t2.50 GB\tQ4_K_M\n"
    m = parse("lms ls", text).to_dict()["models"][0]
    assert (m["key"], m["params"], m["arch"], m["size_bytes"]) == (
        "qwen/qwen3-4b",
        "4B",
        "qwen3",
        2_500_000_000,
    )
    assert m["extra"] == {"QUANT": "Q4_K_M"}


def test_ls_abbreviated_and_counts() -> None:
    text = "You have 1 model, taking up 1.00 GB of disk space.\n\n... (abbreviated) ...\n"
    d = parse("lms ls", text).to_dict()
    assert d["model_count"] == 1 and d["total_size_bytes"] == 1_000_000_000 and d["abbreviated"]


def test_ls_old_grouped_options() -> None:
    text = (
        "LLMs (Large Language Models)      PARAMS      ARCHITECTURE           SIZE\n"
        "TheBloke/Mistral-7B-GGUF                     (...3 options)\n"
    )
    m = parse("lms ls", text).to_dict()["models"][0]
    assert m["variant_count"] == 3 and m["arch"] is None and m["key"] == "TheBloke/Mistral-7B-GGUF"


def test_ls_error_report_and_garbage() -> None:
    d = parse(
        "lms ls", "Error: Failed to start or connect to local LM Studio API server.\n"
    ).to_dict()
    assert d["kind"] == "server_not_running" and d["models"] == []
    with pytest.raises(ParseError):
        parse(
            "lms ls",
            "LLM    PARAMS    ARCH    SIZE\nfoo    1B    llama    not-a-size    x    y    z\n",
        )
    with pytest.raises(ParseError):
        parse("lms ls", '[{"modelKey": "x"')  # truncated --json
    assert parse("lms ls", "").to_dict()["models"] == []


def test_ls_cut_last_row_is_truncated() -> None:
    head = (
        "LLM                   PARAMS    ARCH      SIZE        DEVICE\n"
        "google/gemma-3-12b    12B       gemma3    8.15 GB     Local\n"
    )
    whole = parse_any("lms ls", head, strict=True).to_dict()
    assert "truncated" not in whole
    d = parse_any("lms ls", head + "qwen/qwen3-4b         4B        qwen3\n", strict=True).to_dict()
    assert d["truncated"] is True
    cut = d["models"][1]
    # "qwen3" touches the end of the cut text: it may be "qwen3moe" cut, so it is null
    assert (cut["key"], cut["arch"], cut["size_bytes"], cut["device"], cut["loaded"]) == (
        "qwen/qwen3-4b",
        None,
        None,
        None,
        None,
    )
    spaced = parse_any("lms ls", head + "qwen/qwen3-4b         4B        qwen3    \n", strict=True)
    assert spaced.to_dict()["models"][1]["arch"] == "qwen3"  # a separator after it: whole
    with pytest.raises(ParseError):  # cut anywhere but last: not a row
        parse_any(
            "lms ls", head.replace("8.15 GB     Local", "") + head.splitlines()[1], strict=True
        )


def test_prose_inside_the_table_is_not_a_model() -> None:
    """A line a new lms might print inside the table (a tip, a notice) is not read as a model
    key (keys are one word); lenient reading lists it in `skipped`, strict refuses it."""

    text = (
        "LLMs (Large Language Models)                       PARAMS      ARCHITECTURE   SIZE\n"
        "qwen/qwen3-8b                                          8B         Qwen3       5.03 GB\n"
        "Tip: try the new model catalog at lmstudio.ai/models\n"
    )
    result = parse_any("lms ls", text)
    assert isinstance(result, LsResult)
    assert [m.key for m in result.models] == ["qwen/qwen3-8b"]
    assert [s.text for s in result.skipped] == [
        "Tip: try the new model catalog at lmstudio.ai/models"
    ]
    with pytest.raises(ParseError):
        parse_any("lms ls", text, strict=True)
