"""The README's first quickstart runs as printed (the front door must open)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_pretrained_quickstart_runs_and_scores_above_chance(capsys):
    from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED, list_pretrained

    if DEFAULT_PRETRAINED not in list_pretrained():
        pytest.skip("no shipped checkpoint in this install")
    block = _python_blocks()[0]
    assert "DiffAEEmbedder.from_pretrained" in block
    exec(compile(block, "README.md quickstart", "exec"), {})
    auroc = float(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.6 < auroc <= 1.0
