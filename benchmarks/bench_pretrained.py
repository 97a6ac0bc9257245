"""Reproduce the shipped checkpoints' model-card figures (issue 16).

For every checkpoint in ``sklearn_biodiff.pretrained.list_pretrained()`` (or
``--name``): ``DiffAEEmbedder.from_pretrained(name)`` (``max_epochs=0``, frozen) in
a ``StandardScaler -> LogisticRegression`` probe by the README protocol (C by
3-fold CV on the training part, test part scored once), exactly as the card's
figures were made, and the absolute differences to the card. Passes when every
test figure is within ``--tolerance`` (0.005). The training-free peer,
``ScatteringFeatures()`` (defaults), goes through the same probe in the same run, and
each checkpoint's figures are also given as ratios to it.

Hybrid row per checkpoint: the ``ScatteringFeatures`` columns and the checkpoint's
embedding side by side (``sklearn.pipeline.make_union(ScatteringFeatures(),
DiffAEEmbedder.from_pretrained(name))``, computed here from the same two feature
matrices) through the same probe: does the learned embedding add to the
training-free features, or only repeat them?

Readout rows per checkpoint: the same frozen weights with
``readout="attention+stats"`` (``z`` plus the mean and standard deviation over time
of the encoder's last features), alone and beside the scattering features, through
the same probe; computed from the same transform (its first ``embedding_dim``
columns are ``z``). ``readout="attention+stats+blocks"`` (the same statistics of every
LRU block's output added) is scored alone, from that transform too (its first
``embedding_dim + 2 * encoder_width`` columns are the ``"attention+stats"`` ones).
JSON: ``results/bench_pretrained.json``.

Run: ``python -m benchmarks.bench_pretrained`` (needs the CinC 2017 archive).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks import _protocol
from benchmarks._common import write_json
from sklearn_biodiff.feature_extraction import DiffAEEmbedder, ScatteringFeatures
from sklearn_biodiff.pretrained import list_pretrained, load_checkpoint


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", nargs="*", default=None)
    ap.add_argument("--tolerance", type=float, default=0.005)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    pre = _protocol
    source, X_tr, y_tr, X_te, y_te = pre.load_data(quick=False)
    report = {"source": source, "n_train": len(X_tr), "n_test": len(X_te),
              "tolerance": args.tolerance, "threads": args.threads, "checkpoints": {}}
    t0 = time.perf_counter()
    st = ScatteringFeatures(n_jobs=args.threads)
    F_tr, F_te = st.fit_transform(X_tr), st.transform(X_te)
    peer = pre.probe_scores(F_tr, y_tr, F_te, y_te)
    report["peer_scattering"] = {**peer, "seconds": time.perf_counter() - t0,
                                 "n_features": int(F_tr.shape[1])}
    print("ScatteringFeatures", report["peer_scattering"], flush=True)
    for name in args.name or list_pretrained():
        card = load_checkpoint(name)[0]["card"]
        t0 = time.perf_counter()
        emb = DiffAEEmbedder.from_pretrained(name, n_threads=args.threads,
                                             readout="attention+stats+blocks").fit(X_tr[:2])
        B_tr, B_te = emb.transform(X_tr), emb.transform(X_te)
        n_stats = emb.embedding_dim + 2 * emb.encoder_width
        S_tr, S_te = B_tr[:, :n_stats], B_te[:, :n_stats]
        Z_tr, Z_te = S_tr[:, : emb.embedding_dim], S_te[:, : emb.embedding_dim]
        scores = pre.probe_scores(Z_tr, y_tr, Z_te, y_te)
        expected = card["metrics"]["test (shipped weights)"]
        diff = {k: abs(scores["test"][k] - v) for k, v in expected.items()}
        hybrid = pre.probe_scores(np.hstack([F_tr, Z_tr]), y_tr, np.hstack([F_te, Z_te]), y_te)
        stats = pre.probe_scores(S_tr, y_tr, S_te, y_te)
        stats_hybrid = pre.probe_scores(np.hstack([F_tr, S_tr]), y_tr, np.hstack([F_te, S_te]),
                                        y_te)
        blocks = pre.probe_scores(B_tr, y_tr, B_te, y_te)
        report["checkpoints"][name] = {
            "test": scores["test"], "cv_train": scores["cv_train"],
            "probe_C": scores["probe_C"], "card_test": expected,
            "abs_diff": diff, "reproduced": max(diff.values()) <= args.tolerance,
            "seconds": time.perf_counter() - t0,
            "ratio_to_scattering": {k: v / peer["test"][k] for k, v in scores["test"].items()},
            "hybrid_with_scattering": {
                **hybrid, "n_features": int(F_tr.shape[1] + Z_tr.shape[1]),
                "ratio_to_scattering": {k: v / peer["test"][k]
                                        for k, v in hybrid["test"].items()}},
            "readout_attention_stats": {
                **stats, "n_features": int(S_tr.shape[1]),
                "ratio_to_scattering": {k: v / peer["test"][k]
                                        for k, v in stats["test"].items()},
                "hybrid_with_scattering": {
                    **stats_hybrid, "n_features": int(F_tr.shape[1] + S_tr.shape[1]),
                    "ratio_to_scattering": {k: v / peer["test"][k]
                                            for k, v in stats_hybrid["test"].items()}}},
            "readout_attention_stats_blocks": {
                **blocks, "n_features": int(B_tr.shape[1]),
                "ratio_to_scattering": {k: v / peer["test"][k]
                                        for k, v in blocks["test"].items()}}}
        print(name, report["checkpoints"][name], flush=True)
    write_json("bench_pretrained", report, seeds=[0])
    return report


if __name__ == "__main__":
    main()
