"""Sending notices: messages, SMTP and outbox transports, the ledgered run.

Imports ``ledger`` (and its header guard), ``publish`` and the layers below.
"""
