"""Policies in git: which files are policies, their revisions, renames, texts and release tags.

Owns every git call and the dates read with history as evidence; imports ``document`` and the
base modules.
"""
