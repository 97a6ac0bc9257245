"""The fine-tuning block's robustness paragraph (issue 31): rendered from
``bench_robustness --fitted`` rows, against the issue's targets."""

from __future__ import annotations

from benchmarks.rendering import finetune
from sklearn_biodiff.pretrained import DEFAULT_PRETRAINED


def _model(clean, mean, white):
    return {"clean": clean, "mean_area_over_kinds": mean,
            "kinds": {"gaussian": {"area_normalised": white}}}


def test_the_robustness_paragraph_says_what_is_met_beside_the_frozen_checkpoint():
    state = f"finetune_{finetune.DEFAULT_RUN}-fold0"
    r = {"bench_robustness": {"models": {
        f"fitted_rhythm:{state}": _model(0.91, 0.90, 0.84),
        f"pretrained_rhythm:{DEFAULT_PRETRAINED}": _model(0.904, 0.898, 0.882),
        "fitted_rhythm:another-recipe-fold0": _model(0.5, 0.5, 0.5)}}}
    text = " ".join(finetune._robustness(r).split())
    assert f"`{state}` (`readout=\"attention+rhythm\"`)" in text
    assert "mean area 0.900 (meets 0.875)" in text
    assert "white-noise area 0.840 (misses 0.85)" in text
    assert "clean 0.904, mean area 0.898, white 0.882" in text
    assert "another-recipe" not in text  # only the default recipe's states


def test_without_a_fitted_row_the_paragraph_says_it_was_not_measured():
    r = {"bench_robustness": {"models": {
        f"pretrained_rhythm:{DEFAULT_PRETRAINED}": _model(0.9, 0.9, 0.9)}}}
    assert "has not been measured yet" in finetune._robustness(r)
