"""What readers see: the template sandbox, notice rendering, changelogs, feeds and the site.

Imports ``compare``, ``history``, ``document`` and the base modules; never the ledger or mail.
"""
