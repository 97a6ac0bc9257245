"""Sphinx configuration: numpydoc API pages, sphinx-gallery examples."""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sklearn_biodiff  # noqa: E402

project = "sklearn_biodiff"
author = "sklearn_biodiff developers"
copyright = "2026, sklearn_biodiff developers"
release = sklearn_biodiff.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py.md5"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_title = f"sklearn_biodiff {release}"
html_theme_options = {"navigation_with_keys": False, "show_prev_next": False,
                      "secondary_sidebar_items": ["page-toc"]}
html_sidebars = {"**": ["sidebar-nav-bs"]}

# the gallery runs every example in its reduced mode (bundled sample, few epochs)
os.environ.pop("SKLEARN_BIODIFF_CINC2017", None)
os.environ.pop("SKLEARN_BIODIFF_WFDB_DB", None)
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "doc_module": ("sklearn_biodiff",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_biodiff": None},
}


def _write_model_cards() -> None:
    """docs/generated/model_cards.rst: the card of every shipped checkpoint, as shipped."""
    from sklearn_biodiff.pretrained import list_pretrained, model_card

    parts = []
    for name in list_pretrained():
        body = "\n".join("   " + line if line else "" for line in
                         model_card(name).splitlines())
        parts.append(f"{name}\n{'~' * len(name)}\n\n.. code-block:: text\n\n{body}\n")
    if not parts:
        parts.append("No checkpoint ships with this build.\n")
    out = Path(__file__).parent / "generated" / "model_cards.rst"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts))


_write_model_cards()
