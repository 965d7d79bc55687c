"""Who is told and the proof that they were: the database, subscribers, notice rows, exports.

Imports only the base modules: nothing about git, documents or templates.
"""
