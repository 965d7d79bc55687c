"""Who is told and the proof that they were: the database, subscribers, notice rows, exports.

Imports only the base modules: nothing about git, documents, templates or sending. The mail
header guard (:mod:`redline.ledger.headers`) lives here because import checks with it too.
"""
