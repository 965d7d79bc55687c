"""One policy text on its own: the Markdown model, normalisation and the effective-date line.

Owns parsing, section identity and the date grammar; imports only the base modules (errors,
config, files, console, locales), never git, templates, the ledger or mail.
"""
