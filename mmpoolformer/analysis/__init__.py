"""Analyses of a backbone behind ``tools/analysis/`` and the web demo's "Look inside"."""
