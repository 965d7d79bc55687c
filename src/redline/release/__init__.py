"""A release on merge: plan, write, commit, tag, push and notify, resumable after a kill.

Imports ``mail``, ``ledger``, ``publish`` and the layers below.
"""
