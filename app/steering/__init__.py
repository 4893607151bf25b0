"""Steering the separation (issue 7): sources, locks, edits, learned templates, labels, scores."""
