"""Formatting helpers and the claim check shared by every results block."""

from __future__ import annotations

import math
import re
import textwrap


class ClaimError(AssertionError):
    """A sentence of a template no longer holds for the JSON."""


def _claim(condition: bool, sentence: str) -> None:
    if not condition:
        raise ClaimError(f"the JSON no longer supports: {sentence!r}; rewrite the template")


def _f(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _thousands(x: float) -> str:
    return f"{x:,.0f}"


def _sci(x: float) -> str:
    """``3.9e-4`` rather than ``3.9e-04``."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _reflow(text: str, width: int = 88) -> str:
    """Wrap prose paragraphs and bullet items; leave tables as they are."""
    out = []
    for para in text.strip("\n").split("\n\n"):
        lines = para.split("\n")
        if lines[0].startswith(("|", "=")):
            out.append(para)
            continue
        items, current = [], []
        for line in lines:
            if line.startswith("- ") and current:
                items.append(current)
                current = []
            current.append(line.strip())
        items.append(current)
        wrapped = []
        for item in items:
            bullet = item[0].startswith("- ")
            words = " ".join(item)[2:] if bullet else " ".join(item)
            # no line may start with ">", "+", "-" or "->": Markdown would read a quote
            # or a list; such a token stays on the line of the word before it
            words = re.sub(r" (?=[>+*-]+ )", "\0", words)
            wrapped.append(textwrap.fill(
                words, width, initial_indent="- " if bullet else "",
                subsequent_indent="  " if bullet else "", break_long_words=False,
                break_on_hyphens=False))
        out.append("\n".join(wrapped).replace("\0", " "))
    return "\n\n".join(out) + "\n"


def _pm(d: dict) -> str:
    return f"{d['mean']:.3f} +- {d['std']:.3f}"


def _table(header: list[str], rows: list[list[str]], fmt: str) -> str:
    """A Markdown pipe table or a reStructuredText simple table."""
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    cells = [[_to_rst(c) for c in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)

    def line(r):
        return "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    return "\n".join([rule, line(cells[0]), rule, *map(line, cells[1:]), rule])


def _to_rst(text: str) -> str:
    """Markdown inline code to reStructuredText literals."""
    return re.sub(r"(?<!`)`([^`\n]+)`(?!`)", r"``\1``", text)


def _bold_best(values: list[float], fmt_value, larger_is_better: bool = True) -> list[str]:
    best = max(values) if larger_is_better else min(values)
    return [f"**{fmt_value(v)}**" if fmt_value(v) == fmt_value(best) else fmt_value(v)
            for v in values]


def _hanley_mcneil_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of one AUROC (Hanley and McNeil, 1982)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2))
    return math.sqrt(var / (n_pos * n_neg))


def _gain_words(ratio: float) -> str:
    """How a ratio of two throughputs reads (10 % either way: no real difference)."""
    if ratio >= 1.1:
        return "a gain"
    if ratio <= 1 / 1.1:
        return "a loss"
    return "no real difference (within 10 %)"


def _and(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 2 else items)
