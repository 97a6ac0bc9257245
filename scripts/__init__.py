"""Training and export scripts: run each as ``python -m scripts.NAME``."""
