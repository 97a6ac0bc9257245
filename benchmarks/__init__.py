"""The benchmarks of sklearn_biodiff: run each as ``python -m benchmarks.NAME``."""
