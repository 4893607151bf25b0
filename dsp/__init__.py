"""Partwise signal processing and numerics: pure numpy/scipy, never Qt."""

__version__ = "0.1.0"
