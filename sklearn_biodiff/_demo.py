"""The demo behind ``python -m sklearn_biodiff demo``."""

from __future__ import annotations

import json
import time
from pathlib import Path


def run_demo(out_dir="demo_output", *, quick: bool = False, random_state: int = 0,
             verbose: int = 1) -> dict:
    """Compare ST features, the DACL pipeline, the shipped pretrained DiffAE (frozen and
    fine-tuned with the training records' labels), ST beside the frozen DiffAE, and the
    shipped checkpoint fine-tuned with CinC 2017's labels (``FINE_TUNED_PRETRAINED``,
    frozen).

    Task: normal (N) vs abnormal (A + O) on the bundled CinC 2017 sample, noisy
    records dropped. The test records are the sample's records from the test part
    of the README split, which the shipped DiffAE never saw in pretraining; the
    other sample records train the probes: on the ST features, on the DACL
    embedding, on the frozen DiffAE embedding, and on the ST features and the
    DiffAE embedding side by side; ``FINE_TUNED_PRETRAINED`` was fine-tuned with the
    labels of the README training part only, so the test records are new patients to
    it too. (Without a shipped checkpoint: a 70/30 stratified split with
    ``random_state``, and no DiffAE rows.)

    Parameters
    ----------
    out_dir : path, default="demo_output"
        Where ``roc.png`` and ``demo.json`` go.
    quick : bool, default=False
        50 instead of 200 epochs for the VAE and DACL (for CI; about 10 s for the
        two) and one epoch of fine-tuning instead of the default recipe's 8: the DACL
        and fine-tuned numbers are then lower than after a full run.
    random_state : int, default=0
    verbose : int, default=1

    Returns
    -------
    dict
        AUROCs of the three scores and timings.
    """
    from joblib import Memory
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score, roc_curve
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import StandardScaler

    from .datasets import binary_task, load_cinc2017_sample
    from .feature_extraction import DiffAEEmbedder, ScatteringFeatures
    from .pipeline import make_dacl_pipeline
    from .pretrained import (
        DEFAULT_PRETRAINED,
        FEW_LABELS_READOUT,
        FINE_TUNED_PRETRAINED,
        list_pretrained,
    )

    t_start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_cinc2017_sample()
    idx, y = binary_task(data.target, "normal_vs_abnormal")
    X = [data.signals[i] for i in idx]
    say = print if verbose else (lambda *a, **k: None)
    pretrained = DEFAULT_PRETRAINED if DEFAULT_PRETRAINED in list_pretrained() else None
    if pretrained is not None:
        # the checkpoints were pretrained on the README split's training part
        test = ~data.in_readme_training_part[idx]
        X_tr = [x for x, t in zip(X, test) if not t]
        X_te = [x for x, t in zip(X, test) if t]
        y_tr, y_te = y[~test], y[test]
        split = ("test = the sample's records in the README split's test part (never seen "
                 f"by {pretrained}), train = the other sample records")
    else:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y,
                                                  random_state=random_state)
        split = f"70/30 stratified split, random_state={random_state}"
    say(f"CinC 2017 sample: {len(X_tr)} training / {len(X_te)} test records, "
        f"normal vs abnormal (A+O)")
    cache = Memory(out / "cache", verbose=0)
    st_params = {"memory": cache, "verbose": verbose}

    labelled = FINE_TUNED_PRETRAINED if (pretrained and FINE_TUNED_PRETRAINED
                                         in list_pretrained()) else None
    n_steps = 3 + (3 if pretrained else 0) + (1 if labelled else 0)
    say(f"[1/{n_steps}] Scattering Transformer features + logistic regression")
    baseline = make_pipeline(ScatteringFeatures(**st_params), StandardScaler(),
                             LogisticRegression(C=0.01, max_iter=2000))
    baseline.fit(X_tr, y_tr)
    s_st = baseline.predict_proba(X_te)[:, 1]

    say(f"[2/{n_steps}] DACL pipeline: ST -> scaler -> VAE -> DACL -> linear probe")
    epochs = {"vae": 50, "dacl": 50} if quick else {"vae": 200, "dacl": 200}
    pipe = make_dacl_pipeline(
        scattering=st_params,
        vae={"max_epochs": epochs["vae"], "latent_dim": 32},
        dacl={"max_epochs": epochs["dacl"]},
        classifier=LogisticRegression(C=0.1, max_iter=2000), keep_features=False,
        random_state=random_state, verbose=verbose,
    )
    pipe.fit(X_tr, y_tr)
    s_probe = pipe.predict_proba(X_te)[:, 1]
    s_proto = pipe.named_steps["dacl"].decision_function(pipe[:3].transform(X_te))

    scores = {"st_features_linear_probe": s_st, "dacl_linear_probe": s_probe,
              "dacl_prototype_distance": s_proto}
    def probe():
        """Logistic regression with C by 3-fold CV (accuracy) on the training records."""
        return GridSearchCV(LogisticRegression(max_iter=2000), {"C": [0.01, 0.1, 1.0]}, cv=3)

    def frozen_probe(name):
        """A shipped checkpoint, frozen, -> scaler -> probe, fitted; its test scores."""
        clf = make_pipeline(
            DiffAEEmbedder.from_pretrained(name, fs=float(data.fs),
                                           readout=FEW_LABELS_READOUT), StandardScaler(),
            probe())
        return clf.fit(X_tr, y_tr).predict_proba(X_te)[:, 1]

    if pretrained is not None:
        say(f"[3/{n_steps}] pretrained DiffAE ({pretrained}, frozen, readout "
            f"{FEW_LABELS_READOUT!r}) -> scaler -> "
            "logistic regression")
        scores["pretrained_diffae_linear_probe"] = frozen_probe(pretrained)
        say(f"[4/{n_steps}] ST features and pretrained DiffAE side by side (make_union) "
            "-> scaler -> logistic regression")
        both = make_pipeline(
            make_union(ScatteringFeatures(**st_params),
                       DiffAEEmbedder.from_pretrained(pretrained, fs=float(data.fs),
                                                      readout=FEW_LABELS_READOUT)),
            StandardScaler(), probe())
        both.fit(X_tr, y_tr)
        scores["st_and_pretrained_diffae_linear_probe"] = both.predict_proba(X_te)[:, 1]
        say(f"[5/{n_steps}] pretrained DiffAE fine-tuned with the training records' labels "
            "(DiffAEEmbedder(pretrained=...).fit(X, y): the default recipe) -> scaler -> "
            "logistic regression")
        tuned = make_pipeline(
            DiffAEEmbedder(pretrained=pretrained, fs=float(data.fs), readout=FEW_LABELS_READOUT,
                           random_state=random_state,
                           **({"max_epochs": 1} if quick else {})),
            StandardScaler(), probe())
        tuned.fit(X_tr, y_tr)
        scores["fine_tuned_diffae_linear_probe"] = tuned.predict_proba(X_te)[:, 1]
    if labelled is not None:
        say(f"[6/{n_steps}] {labelled} (the checkpoint fine-tuned with the labels of CinC "
            "2017's README training part; frozen) -> scaler -> logistic regression")
        scores["label_fine_tuned_checkpoint_linear_probe"] = frozen_probe(labelled)
    result = {name: float(roc_auc_score(y_te, s)) for name, s in scores.items()}
    say(f"[{n_steps}/{n_steps}] results (test AUROC, normal vs abnormal)")
    for name, auc in result.items():
        say(f"  {name:42s} {auc:.3f}")
    full_data = _full_data_figures(pretrained, FEW_LABELS_READOUT) if pretrained else None
    if full_data:
        say(f"On the full CinC 2017 data (README split, test part; the model card of "
            f"{pretrained}, readout {FEW_LABELS_READOUT!r}, frozen): "
            + ", ".join(f"{k} {v:.3f}" for k, v in full_data["test"].items())
            + ". This sample's few records resolve differences of about 0.05 AUROC "
            "at best; the user guide has the full-data tables, fine-tuned rows included.")
    few = full_data.get("few_labels") if full_data else None
    if few:
        say("With few labels (the same split, a labelled subset of the training part, "
            "mean over subsets): " + "; ".join(
                f"{k}: " + ", ".join(f"{m} {v:.3f}" for m, v in fig.items())
                for k, fig in few.items()) + ".")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 5))
        for name, s in scores.items():
            fpr, tpr, _ = roc_curve(y_te, s)
            ax.plot(fpr, tpr, label=f"{name} ({result[name]:.3f})")
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set(xlabel="false positive rate", ylabel="true positive rate",
               title="CinC 2017 sample: normal vs abnormal")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "roc.png", dpi=120)
        plt.close(fig)
        result["roc_png"] = str(out / "roc.png")
    except ImportError:
        say("matplotlib is not installed: no ROC plot (pip install 'sklearn-biodiff[plot]')")
    result.update({
        "protocol": "bundled CinC 2017 sample (280 records), N vs A+O (noisy dropped), "
                    f"{split}; one seed, {len(X_te)} test records: differences below "
                    "about 0.05 AUROC are not resolved",
        "pretrained": pretrained, "label_fine_tuned": labelled,
        "readout": FEW_LABELS_READOUT if pretrained else None,
        "quick": quick, "n_train": len(X_tr), "n_test": len(X_te),
        "full_data_figures_of_the_checkpoint": full_data,
        "seconds": round(time.perf_counter() - t_start, 1),
    })
    (out / "demo.json").write_text(json.dumps(result, indent=2) + "\n")
    say(f"done in {result['seconds']} s; wrote {out / 'demo.json'}")
    return result




def _full_data_figures(name: str, readout: str) -> dict | None:
    """The README-split test figures of checkpoint ``name``'s model card, frozen, with
    ``readout`` (None when the card has none), and under ``"few_labels"`` the card's
    few-label figures of that readout when it has them."""
    from .pretrained._checkpoint import _read_checked, resolve_checkpoint

    metrics = _read_checked(resolve_checkpoint(name))[0].get("card", {}).get("metrics", {})
    part = metrics if readout == "attention" else metrics.get(f"readout {readout}", {})
    test = part.get("test (shipped weights)")
    if not isinstance(test, dict):
        return None
    few = metrics.get(f"few labels, readout {readout}", {})
    few = {k: dict(v) for k, v in few.items() if isinstance(v, dict)}
    return {"test": dict(test), **({"few_labels": few} if few else {})}
