"""Ship a pretraining state as a packaged checkpoint with its model card (issue 16).

Writes ``sklearn_biodiff/pretrained/weights/<name>/`` (``config.json`` +
``model.safetensors``, half precision by default) from a state file of
``scripts/pretrain_diffae.py``, then scores the checkpoint AS SHIPPED (loaded
back through ``DiffAEEmbedder.from_pretrained``) by the README protocol and
stores those figures in the card, beside the full-precision figures of the same
state (the learning curve's row when the state sits at a mark, else evaluated here),
so the cost of half precision is on record.

Example::

    python -m scripts.export_pretrained pretraining/diffae_contrastive.state \\
        --name diffae-cinc2017-v4 --json benchmarks/results/pretrain_diffae_contrastive.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import joblib

from benchmarks import _protocol
from sklearn_biodiff.feature_extraction._diffae import READOUTS

REPO = Path(__file__).resolve().parents[1]

RECIPE_TEXT = {
    "plain": "self-supervised DiffAE (noise-prediction loss) on random 10-s crops, AdamW "
             "lr 1e-3 constant, batch 32, grad clip 1, EMA 0.999 of the weights",
    "encoder_noise": "self-supervised DiffAE (noise-prediction loss) on random 10-s crops; "
                     "the semantic encoder sees each crop with fresh AddNoise('mixture', "
                     "snr_db=(0, 24)) (NSTDB baseline wander + muscle + synthetic "
                     "powerline), the denoiser reconstructs the clean crop; AdamW lr 1e-3 "
                     "constant, batch 32, grad clip 1, EMA 0.999 of the weights",
    "contrastive": "encoder_noise plus 0.1 x symmetric InfoNCE (temperature 0.1, "
                   "projection head 128) between two random crops of each record, each "
                   "with its own noise",
}


#: how the README split is drawn, as model cards state it
TRAINING_PART_RULE = (
    "the README split: sklearn.model_selection.train_test_split of the 8,528 records of "
    "the CinC 2017 training set sorted by name, test_size=0.3, stratified by label, "
    "random_state=0 (benchmarks/_common.readme_split); the bundled sample says which of "
    "its records lie in it (load_cinc2017_sample().in_readme_training_part)")


def training_part_card(names) -> dict:
    """The card's ``training_part``: the rule, the count and the sha256 of the sorted
    record names joined by newlines (the list itself made each config 99 kB)."""
    import hashlib

    names = sorted(str(n) for n in names)
    return {"rule": TRAINING_PART_RULE, "n_records": len(names),
            "sha256_of_sorted_names": hashlib.sha256("\n".join(names).encode()).hexdigest()}


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("state", type=Path)
    ap.add_argument("--name", required=True)
    ap.add_argument("--json", type=Path, default=None,
                    help="the run's learning-curve JSON (pretraining states)")
    ap.add_argument("--fitted", action="store_true",
                    help="the state is a fitted, label-fine-tuned DiffAEEmbedder (utils.dump)")
    ap.add_argument("--cpu-minutes", type=float, default=None,
                    help="--fitted: the CPU minutes its fit took (for the card)")
    ap.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    ap.add_argument("--quick", action="store_true", help="bundled sample (tests)")
    ap.add_argument("--out", type=Path, default=None,
                    help="checkpoint folder (default: the package's weights/<name>)")
    args = ap.parse_args(argv)
    if args.out is None and args.quick:
        raise SystemExit("--quick exports a test checkpoint: pass --out (a folder outside "
                         "the package), so that no shipped checkpoint is overwritten")
    if args.fitted:
        return export_fitted(args)
    if args.json is None:
        raise SystemExit("--json is required for a pretraining state")
    pre = _protocol
    state = joblib.load(args.state)
    curve = json.loads(args.json.read_text())
    rows = [r for r in curve["curve"] if r["crops_seen"] == state["crops"]]
    out = args.out or REPO / "sklearn_biodiff" / "pretrained" / "weights" / args.name
    emb = state["embedder"]
    card = {
        "title": f"{args.name}: DiffAE embedding of single-lead ECG (CinC 2017)",
        "training_data": "PhysioNet/CinC Challenge 2017 training set, 300 Hz single-lead "
                         "AliveCor ECG; training part of the README split only "
                         f"({curve['n_train_used_for_embedder']} records at least one crop "
                         "long; labels not used)",
        "split": "README 70/30 split: train_test_split(test_size=0.3, stratify=label, "
                 "random_state=0) over the 8,528 records; the test part never trained on",
        "crops_seen": state["crops"],
        "cpu_hours": round(state["cpu_s"] / 3600, 2),
        "wall_hours": round(state["wall_s"] / 3600, 2),
        "recipe": f"{state['recipe']}: {RECIPE_TEXT.get(state['recipe'], '')}; "
                  f"seed {state['seed']}; {state['chunk']} epochs",
        "protocol": curve["protocol"],
        "machine": f"{curve['run']['machine']['cpu_count']}-core CPU, "
                   f"{curve.get('training_threads')} torch thread(s) for training, "
                   "shared with other work",
        "license": "weights: BSD-3-Clause (as the package); trained on data under the Open "
                   "Data Commons Attribution License v1.0",
        "attribution": "Clifford et al., AF Classification from a Short Single Lead ECG "
                       "Recording: the PhysioNet/Computing in Cardiology Challenge 2017, "
                       "CinC 44, 2017; Goldberger et al., PhysioBank, PhysioToolkit and "
                       "PhysioNet, Circulation 101(23), 2000; noise: Moody, Muldrow, Mark, "
                       "A noise stress test for arrhythmia detectors, CinC 11, 1984",
        "source_run": {"json": str(args.json.relative_to(REPO)) if args.json.is_absolute()
                       and REPO in args.json.parents else str(args.json),
                       "commit": curve["run"].get("commit"),
                       "command": curve["run"].get("command")},
    }
    source, X_tr, y_tr, X_te, y_te, train_ids = pre.load_data(args.quick, with_ids=True)
    # the training part by its rule and a hash of its record names (the bundled
    # sample flags its own records, which the demo keeps out of its test part)
    card["training_part"] = training_part_card(train_ids)
    emb.save_pretrained(out, dtype=args.dtype, card=card)
    # score what ships: the checkpoint loaded back (half precision), README protocol
    t0 = time.perf_counter()
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder

    shipped = DiffAEEmbedder.from_pretrained(str(out), n_threads=emb.n_threads).fit(X_tr[:2])
    scores = pre.evaluate(shipped, X_tr, y_tr, X_te, y_te)
    # the full-precision weights of the same state, from the learning curve when it has
    # a row at this state, else evaluated here by the same protocol
    full = rows[-1] if rows else pre.evaluate(emb, X_tr, y_tr, X_te, y_te)
    card["metrics"] = _metrics(scores, float32_test=full["test"])
    card["evaluated_in_seconds"] = round(time.perf_counter() - t0, 1)
    emb.save_pretrained(out, dtype=args.dtype, card=card)
    print(json.dumps(card, indent=2))
    return out


def _metrics(scores: dict, float32_test: dict | None = None,
             contaminated_cv: bool = False) -> dict:
    """The card's ``metrics`` from :func:`benchmarks._protocol.evaluate`'s scores of the
    shipped weights (and the test figures of the same state in float32, when given)."""
    cv = "cv_train (shipped weights)"
    out = {"test (shipped weights)": {k: round(v, 4) for k, v in scores["test"].items()},
           cv: {k: round(v, 4) for k, v in scores["cv_train"].items()},
           "probe_C": scores["probe_C"]}
    if float32_test is not None:
        out["test (float32 weights, same run)"] = {k: round(v, 4)
                                                   for k, v in float32_test.items()}
    out["transform_records_per_s"] = round(scores["transform_records_per_s"], 1)
    out["transform_readout"] = scores.get("transform_readout", "attention+stats")
    for readout in READOUTS[1:]:
        wider = scores.get("readout_" + readout.replace("+", "_"))
        if wider is not None:  # DiffAEEmbedder(readout=readout), the same weights
            out[f"readout {readout}"] = {
                "test (shipped weights)": {k: round(v, 4) for k, v in wider["test"].items()},
                cv: {k: round(v, 4) for k, v in wider["cv_train"].items()},
                "probe_C": wider["probe_C"]}
    if contaminated_cv:
        out["note"] = ("cv_train figures are not independent of the encoder: the probe's "
                       "folds are records of the training part, whose labels fine-tuned "
                       "it; the test part is the independent figure")
    return out


def export_fitted(args) -> Path:
    """``--fitted``: a label-fine-tuned estimator as a checkpoint with its card."""
    from sklearn_biodiff.feature_extraction import DiffAEEmbedder
    from sklearn_biodiff.utils import load

    emb = load(args.state)
    if not isinstance(emb, DiffAEEmbedder) or not hasattr(emb, "net_"):
        raise SystemExit(f"{args.state} does not hold a fitted DiffAEEmbedder")
    out = args.out or REPO / "sklearn_biodiff" / "pretrained" / "weights" / args.name
    settings = emb.training_settings_
    parent = load_parent_card(emb.pretrained)
    source, X_tr, y_tr, X_te, y_te, train_ids = _protocol.load_data(args.quick,
                                                                    with_ids=True)
    # crops of the fine-tuning: the batches' sizes as skorch recorded them
    crops = int(sum(b.get("train_batch_size", emb.batch_size)
                    for h in emb.history_ for b in h.get("batches", [])))
    card = {
        "title": f"{args.name}: DiffAE embedding of single-lead ECG fine-tuned with "
                 "rhythm labels (CinC 2017)",
        "training_data": "PhysioNet/CinC Challenge 2017 training set, 300 Hz single-lead "
                         "AliveCor ECG; training part of the README split only, WITH its "
                         "labels (N, A, O, noisy), on top of the self-supervised "
                         f"{emb.pretrained} (which saw the same records without labels)",
        "split": "README 70/30 split: train_test_split(test_size=0.3, stratify=label, "
                 "random_state=0) over the 8,528 records; the test part never trained on",
        "fine_tuned_from": str(emb.pretrained),
        "crops_seen": (parent.get("crops_seen", 0) or 0) + crops,
        "fine_tuning_crops": crops,
        "cpu_hours": round((parent.get("cpu_hours", 0) or 0)
                           + (args.cpu_minutes or 0) / 60, 2),
        "fine_tuning_cpu_minutes": args.cpu_minutes,
        "recipe": "label-aware fine-tuning, the package's default recipe: "
                  f"DiffAEEmbedder(pretrained={str(emb.pretrained)!r}, "
                  f"random_state={emb.random_state}).fit(X, y) on the training part's "
                  "records at least one crop long: cross-entropy through a linear head "
                  f"(weight {emb.classifier_weight}) + supervised contrastive on z "
                  f"(weight {emb.supervised_weight}, {emb.supervised_view} views, "
                  f"class-balanced batches: {emb.balanced}) + the diffusion loss (weight "
                  f"{emb.diffusion_weight}); {settings['max_epochs']} epochs of "
                  f"{emb.snippet_seconds:g}-s crops, AdamW lr {settings['lr']:g} "
                  f"{settings['lr_schedule']}, weight decay {settings['weight_decay']:g}, "
                  f"batch {emb.batch_size}",
        "protocol": "README 70/30 split; the encoder frozen, StandardScaler + "
                    "LogisticRegression, C in {0.01, 0.1, 1} by 3-fold stratified CV "
                    "(macro F1) on the training part; test = scored once",
        "machine": "2-core CPU, 1 torch thread for fine-tuning, shared with other work",
        "license": parent.get("license", ""),
        "attribution": parent.get("attribution", ""),
        "source_run": {"command": f"python -m scripts.export_pretrained {args.state} "
                                  f"--fitted --name {args.name}"},
        "training_part": training_part_card(train_ids),
    }
    emb.save_pretrained(out, dtype=args.dtype, card=card)
    t0 = time.perf_counter()
    shipped = DiffAEEmbedder.from_pretrained(str(out), n_threads=emb.n_threads).fit(X_tr[:2])
    card["metrics"] = _metrics(_protocol.evaluate(shipped, X_tr, y_tr, X_te, y_te),
                               contaminated_cv=True)
    card["evaluated_in_seconds"] = round(time.perf_counter() - t0, 1)
    emb.save_pretrained(out, dtype=args.dtype, card=card)
    print(json.dumps(card, indent=2))
    return out


def load_parent_card(pretrained) -> dict:
    """The card of the checkpoint a fine-tuning started from ({} if none)."""
    from sklearn_biodiff.pretrained import load_checkpoint

    return load_checkpoint(pretrained)[0].get("card", {}) if pretrained else {}


if __name__ == "__main__":
    main()
