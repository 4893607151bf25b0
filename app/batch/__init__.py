"""Batch separation: many files with the same settings, one after another or on a Dask cluster.

Plain Python, never Qt: the command line (``partwise separate --jobs``) and the
window's *File › Batch separate…* drive the same engine.
"""
