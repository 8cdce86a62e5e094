"""Benchmark workloads: one module per kind of work, each exporting ``WORKLOADS``."""
