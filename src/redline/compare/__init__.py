"""What changed between two revisions: the diff engine, its classification and its views.

Imports ``history``, ``document`` and the base modules.
"""
