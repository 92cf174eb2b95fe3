"""Benchmarks: contenders run side by side in one run, repeated; figures go to BENCHMARKS.md (see run.py)."""
