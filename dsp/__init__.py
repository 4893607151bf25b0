"""Partwise signal processing and numerics: pure numpy/scipy, never Qt."""
