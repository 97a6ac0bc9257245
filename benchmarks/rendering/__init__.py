"""The fields of the results blocks, one module per group of benchmarks.

Each ``_<block>(results, fmt)`` function returns the ``{field}`` values of its
templates from the benchmark JSON; ``render_results.fields`` merges them.
"""
