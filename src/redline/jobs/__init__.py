"""The other commands' work: check, status, remind, preview and init.

Imports ``release`` and every layer below; never click (that is ``cli``).
"""
