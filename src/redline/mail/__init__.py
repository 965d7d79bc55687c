"""Sending notices: the header guard, messages, SMTP and outbox transports, the ledgered run.

Imports ``ledger``, ``publish`` and the layers below.
"""
