"""Experiments: each is parameters (a frozen dataclass) + a function returning a result + plot/save functions."""
