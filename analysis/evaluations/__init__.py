"""Evaluations: estimation samples and estimates built from panels in memory.

Modules here never read or write files; :mod:`analysis.evaluate` feeds them
panels and saves what they return.
"""
