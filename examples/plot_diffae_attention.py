"""
Diffusion autoencoder: where the encoder looks, and what the embedding decodes to
=================================================================================

:class:`~sklearn_biodiff.feature_extraction.DiffAEEmbedder` learns a fixed-size
embedding of raw ECG without labels: a semantic encoder (strided convolutions,
Linear Recurrent Units, an Attention Reducer) summarises the clean record, and a
1-D U-Net learns to remove diffusion noise from random 9-s crops given that
summary. This example

* trains it briefly on the CinC 2017 records,
* draws the Attention Reducer's weights ``S`` over one record of each class
  (:meth:`~sklearn_biodiff.feature_extraction.DiffAEEmbedder.attention_weights`),
  like Figure 2 of the poster: the weight of each encoder frame, averaged over
  the embedding's features,
* decodes a record from pure noise conditioned on its embedding
  (:meth:`~sklearn_biodiff.feature_extraction.DiffAEEmbedder.reconstruct`, DDIM).

The reduced mode trains for a few seconds, so the attention is nearly flat and
the reconstruction is noise-like; the full version (``SKLEARN_BIODIFF_CINC2017=
/path/to/cinc2017.tar.xz python examples/plot_diffae_attention.py``) trains for
15 epochs (about 20 CPU-minutes) on the records of the archive.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_biodiff.datasets import load_cinc2017_sample, load_physionet2017
from sklearn_biodiff.feature_extraction import DiffAEEmbedder

ARCHIVE = os.environ.get("SKLEARN_BIODIFF_CINC2017")
data = load_physionet2017(ARCHIVE, n_jobs=2) if ARCHIVE else load_cinc2017_sample()
# CinC records last 9-61 s, so 9-s training crops use every record (the default
# 10-s crops would reject the shortest ones with a clear error).
emb = DiffAEEmbedder(fs=data.fs, snippet_seconds=9.0, max_epochs=15 if ARCHIVE else 1,
                     max_steps=None if ARCHIVE else 10, random_state=0, verbose=1)
emb.fit(data.signals)
Z = emb.transform(data.signals[:8])
print("embeddings:", Z.shape, Z.dtype)

# %%
# Attention over time for one record of each class (first 12 s shown).
fig, axes = plt.subplots(3, 1, figsize=(8, 6), sharex=True)
for ax, label in zip(axes, ["N", "A", "O"]):
    i = int(np.flatnonzero(data.target == label)[0])
    x = data.signals[i]
    (w,) = emb.attention_weights([x])
    n = min(len(x), int(12 * data.fs))
    t = np.arange(n) / data.fs
    ax.plot(t, x[:n], lw=0.6, color="k")
    ax.set_ylabel(f"{label} (counts)")
    twin = ax.twinx()
    twin.fill_between(t, w[:n], color="C3", alpha=0.35, lw=0)
    twin.set_ylabel("attention", color="C3")
axes[-1].set_xlabel("time (s)")
fig.suptitle("Attention Reducer weights over the signal")
fig.tight_layout()

# %%
# Decoding: the embedding of one record conditions DDIM sampling from noise.
x = data.signals[0]
(x_rec,) = emb.reconstruct([x], n_steps=20 if ARCHIVE else 5, random_state=0)
n = int(6 * data.fs)
fig, ax = plt.subplots(figsize=(8, 2.8))
t = np.arange(n) / data.fs
ax.plot(t, x[:n], lw=0.8, label="record")
ax.plot(t, x_rec[:n], lw=0.8, label="decoded from its embedding")
ax.set(xlabel="time (s)", ylabel="counts")
ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()
plt.show()
