"""Render the results tables and quoted numbers of README.md and docs/ from the JSON.

Every number of a results section lives in ``benchmarks/results/*.json``. A results
section of README.md or a docs page is a block between two markers::

    <!-- results:NAME start -->          (Markdown)
    <!-- results:NAME end -->

    .. results:NAME start                (reStructuredText)
    .. results:NAME end

and its text is ``benchmarks/templates/NAME.md`` with each ``{field}`` filled from
:func:`fields`, which reads the JSON. The same template serves both formats: tables are
built per format, and ``code`` in backticks becomes ````code```` in reStructuredText.
A sentence of a template that states a comparison is checked against the JSON by
:func:`_claim` while rendering, so a new run that contradicts it stops the rendering.

    python -m benchmarks.render_results           # rewrite the blocks in place
    python -m benchmarks.render_results --check   # exit 1 and show a diff if any differs

``tests/test_results_tables.py`` runs the check.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

from benchmarks.rendering._text import ClaimError, _reflow, _to_rst
from benchmarks.rendering.compute_bound import _compute_bound
from benchmarks.rendering.dacl import _dacl, _goal
from benchmarks.rendering.dacl_patients import _dacl_keep, _dacl_patients
from benchmarks.rendering.engineering import _model_selection, _mutation, _scaling, _wfdb_memory
from benchmarks.rendering.finetune import _finetune
from benchmarks.rendering.headline import _headline
from benchmarks.rendering.label_efficiency import _label_efficiency
from benchmarks.rendering.new_patients import _new_patients
from benchmarks.rendering.pretrained import _pretrained
from benchmarks.rendering.pretraining import _diffae, _pretraining
from benchmarks.rendering.probes import _probes
from benchmarks.rendering.robustness import _robustness
from benchmarks.rendering.scattering import _scattering
from benchmarks.rendering.threads import _busy_threads

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
TEMPLATES = REPO / "benchmarks" / "templates"
#: the files that may hold results blocks: README.md, CONTRIBUTING.md and every page of
#: docs/
TARGETS = (REPO / "README.md", REPO / "CONTRIBUTING.md",
           *sorted((REPO / "docs").rglob("*.rst")))
_MARKERS = {
    ".md": re.compile(r"(<!-- results:(?P<name>[\w-]+) start -->\n)(?P<body>.*?)"
                      r"(<!-- results:(?P=name) end -->)", re.S),
    ".rst": re.compile(r"(\.\. results:(?P<name>[\w-]+) start\n)(?P<body>.*?)"
                       r"(\.\. results:(?P=name) end)", re.S),
}


def load_results(folder: Path = RESULTS) -> dict[str, dict]:
    """Every ``*.json`` of ``folder``, by file stem."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def fields(results: dict[str, dict], fmt: str) -> dict[str, str]:
    """Every ``{field}`` of the templates, from the JSON, for ``fmt`` ("md" or "rst")."""
    out: dict[str, str] = {}
    for part in (_scattering, _dacl, _goal, _diffae, _model_selection, _robustness,
                 _wfdb_memory, _pretrained, _scaling, _pretraining,
                 _dacl_patients, _dacl_keep, _mutation, _label_efficiency, _busy_threads,
                 _headline, _compute_bound, _finetune, _new_patients, _probes):
        out.update(part(results, fmt))
    return out


def render_block(name: str, results: dict[str, dict], fmt: str) -> str:
    """The text of block ``name`` in format ``fmt``."""
    path = TEMPLATES / f"{name}.md"
    if not path.exists():
        raise FileNotFoundError(f"results block {name!r} has no template {path}")
    template, values = path.read_text(), fields(results, fmt)
    if fmt == "rst":
        template = _to_rst(template)
        values = {k: _to_rst(v) for k, v in values.items()}
    return _reflow(template.format_map(values))


def render_file(path: Path, results: dict[str, dict]) -> str:
    """``path``'s text with every results block re-rendered."""
    fmt = "md" if path.suffix == ".md" else "rst"
    pattern = _MARKERS[path.suffix]
    text = path.read_text()
    inline = re.search(r"[^\n]([.][.] results:|<!-- results:)", text)
    if inline:  # a marker inside a paragraph is shown as text, never filled
        raise ClaimError(f"{path.name}: a results marker must start its own line: "
                         f"{text[inline.start(): inline.start() + 60]!r}")

    def fill(m):
        body = render_block(m["name"], results, fmt).strip("\n")
        if fmt == "rst":
            return f"{m.group(1)}\n{body}\n\n{m.group(4)}"
        return f"{m.group(1)}{body}\n{m.group(4)}"

    return pattern.sub(fill, text)


def blocks_in(path: Path) -> list[str]:
    """The names of the results blocks of ``path``."""
    return [m["name"] for m in _MARKERS[path.suffix].finditer(path.read_text())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 and print a diff if a block differs")
    args = ap.parse_args(argv)
    results = load_results()
    stale = []
    for path in TARGETS:
        old, new = path.read_text(), render_file(path, results)
        if old == new:
            continue
        stale.append(path)
        if args.check:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), f"{path.name} (as committed)",
                f"{path.name} (rendered from benchmarks/results)"))
        else:
            path.write_text(new)
    if args.check and stale:
        print(f"\n{len(stale)} file(s) differ from the JSON: run "
              "`python -m benchmarks.render_results` and commit the result.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

