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
LRU block's output added) and the three ``"+rhythm"`` readouts (each feature set's
autocorrelation peak added) are scored alone, from that transform too: it is made with
``_protocol.WIDEST_READOUT``, whose columns hold every readout's
(``_protocol.readout_columns``).
JSON: ``results/bench_pretrained.json``.

Run: ``python -m benchmarks.bench_pretrained`` (needs the CinC 2017 archive);
``--name NAME ... --merge`` rescores those checkpoints and keeps the other checkpoints'
rows of the existing JSON (the peer is rescored in the same run).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks import _protocol
from benchmarks._common import RESULTS, write_json
from sklearn_biodiff.feature_extraction import DiffAEEmbedder, ScatteringFeatures
from sklearn_biodiff.pretrained import list_pretrained, load_checkpoint


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", nargs="*", default=None)
    ap.add_argument("--tolerance", type=float, default=0.005)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--merge", action="store_true",
                    help="keep the existing JSON's rows of the checkpoints not rescored")
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
                                             readout=pre.WIDEST_READOUT).fit(X_tr[:2])
        W_tr, W_te = emb.transform(X_tr), emb.transform(X_te)
        columns = pre.readout_columns(emb)
        S_tr, S_te = W_tr[:, columns["attention+stats"]], W_te[:, columns["attention+stats"]]
        Z_tr, Z_te = W_tr[:, columns["attention"]], W_te[:, columns["attention"]]
        scores = pre.probe_scores(Z_tr, y_tr, Z_te, y_te)
        expected = card["metrics"]["test (shipped weights)"]
        diff = {k: abs(scores["test"][k] - v) for k, v in expected.items()}
        hybrid = pre.probe_scores(np.hstack([F_tr, Z_tr]), y_tr, np.hstack([F_te, Z_te]), y_te)
        stats = pre.probe_scores(S_tr, y_tr, S_te, y_te)
        stats_hybrid = pre.probe_scores(np.hstack([F_tr, S_tr]), y_tr, np.hstack([F_te, S_te]),
                                        y_te)
        alone = {}  # the readouts scored alone, beyond z and attention+stats
        for readout in ("attention+stats+blocks", "attention+rhythm", "attention+stats+rhythm",
                        "attention+stats+blocks+rhythm"):
            cols = columns[readout]
            sc = pre.probe_scores(W_tr[:, cols], y_tr, W_te[:, cols], y_te)
            alone["readout_" + readout.replace("+", "_")] = {
                **sc, "n_features": len(cols),
                "ratio_to_scattering": {k: v / peer["test"][k] for k, v in sc["test"].items()}}
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
            **alone}
        print(name, report["checkpoints"][name], flush=True)
    if args.merge and (RESULTS / "bench_pretrained.json").is_file():
        earlier = json.loads((RESULTS / "bench_pretrained.json").read_text())["checkpoints"]
        report["checkpoints"] = {k: report["checkpoints"].get(k, v)
                                 for k, v in {**earlier, **report["checkpoints"]}.items()}
        report["merged_from_earlier_runs"] = sorted(set(earlier) - set(args.name or []))
    write_json("bench_pretrained", report, seeds=[0])
    return report


if __name__ == "__main__":
    main()
