"""Benchmarks (graphql.md §4): `python -m bench [name ...]`, or `make bench`.

Each benchmark measures our figure beside a bare baseline doing the same work in the same run, and prints one
table per measurement (ours, baseline, ratio, p50, p99, CPU per request) with the design targets. Figures are
informational: nothing here fails a build, and the test suite holds no timing assertions.
"""
