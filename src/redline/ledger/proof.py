"""Proof of notice: the ledger as evidence of who was told what, when, and what the server said.

The JSON and text exports also list the subscription changes (subscribed, changed,
unsubscribed, each with its time and channel) of everybody the export covers.

Exports stream the ledger (never the whole list in memory), state when and by what they were
made, and give every time in UTC as ISO 8601 (``2025-06-01T09:30:00Z``). Each row carries its
history: every SMTP try (with its outcome and reply), re-queue and recovery. CSV cells that a
spreadsheet would run as a formula (``=1+1@example.com``) are written with a leading ``'``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from redline import __version__
from redline.errors import InputError
from redline.files import atomic_open
from redline.vocab import STATES

if TYPE_CHECKING:
    from redline.ledger.changes import SubscriptionChange
    from redline.ledger.evidence import NoticeEvent, NoticeRecord
    from redline.ledger.store import Store

FORMATS = ("text", "csv", "json")
FIELDS = (
    "policy",
    "version",
    "kind",
    "email",
    "state",
    "attempts",
    "message_id",
    "smtp_code",
    "smtp_reply",
    "reason",
    "queued_at",
    "claimed_at",
    "sent_at",
    "updated_at",
    "notice_id",
    "subscriber_id",
    "history",
)
# What a spreadsheet takes for the start of a formula (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def utc_iso(moment: datetime | None) -> str | None:
    """``moment`` in UTC as ISO 8601 with a Z, to the second; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def event_fields(event: NoticeEvent) -> dict[str, Any]:
    """One history entry as plain data."""
    return {
        "at": utc_iso(event.at),
        "event": event.event,
        "smtp_code": event.code,
        "smtp_reply": event.message,
    }


def describe_event(event: NoticeEvent) -> str:
    """One history entry on one line: time, event, and the reply if any."""
    parts = (utc_iso(event.at), event.event, event.code, event.message)
    return " ".join(str(part) for part in parts if part is not None)


def record_fields(record: NoticeRecord) -> dict[str, Any]:
    """One ledger row as export fields (keys in :data:`FIELDS` order)."""
    return {
        "policy": record.policy,
        "version": record.version,
        "kind": record.kind,
        "email": record.email,
        "state": record.state,
        "attempts": record.attempts,
        "message_id": record.message_id,
        "smtp_code": record.last_code,
        "smtp_reply": record.last_message,
        "reason": record.reason,
        "queued_at": utc_iso(record.created_at),
        "claimed_at": utc_iso(record.claimed_at),
        "sent_at": utc_iso(record.sent_at),
        "updated_at": utc_iso(record.updated_at),
        "notice_id": record.id,
        "subscriber_id": record.subscriber_id,
        "history": [event_fields(event) for event in record.history],
    }


def change_fields(change: SubscriptionChange) -> dict[str, Any]:
    """One subscription change as plain data."""
    return {
        "at": utc_iso(change.at),
        "email": change.email,
        "subscriber_id": change.subscriber_id,
        "action": change.action,
        "channel": change.channel,
        "detail": change.detail,
    }


def _csv_cell(record: NoticeRecord, name: str, value: Any) -> Any:
    if name == "history":
        value = " | ".join(describe_event(event) for event in record.history)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class ExportInfo:
    """What an export covers and when and by what it was made."""

    policy: str
    version: int | None
    kind: str | None
    database: str
    exported_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        """The metadata as plain data."""
        return {
            "title": "redline proof of notice",
            "policy": self.policy,
            "version": self.version,
            "kind": self.kind,
            "exported_at": utc_iso(self.exported_at),
            "exported_by": f"redline {__version__}",
            "database": self.database,
            "times": "UTC, ISO 8601",
        }

    def describe(self) -> str:
        """One line: policy, scope, time and tool of the export."""
        version = f"v{self.version}" if self.version is not None else "all versions"
        kind = self.kind or "all kinds"
        return (
            f"redline proof of notice; policy {self.policy}; {version}; {kind}; "
            f"exported {utc_iso(self.exported_at)} by redline {__version__} "
            f"from the {self.database} database; times in UTC (ISO 8601)"
        )


@dataclass
class ExportSummary:
    """Records written, counted by (version, kind, state)."""

    records: int = 0
    counts: Counter[tuple[int, str, str]] = field(default_factory=Counter)

    def add(self, record: NoticeRecord) -> None:
        """Count one written record."""
        self.records += 1
        self.counts[(record.version, record.kind, record.state)] += 1

    def groups(self) -> list[tuple[int, str, dict[str, int]]]:
        """(version, kind, {state: count} with every state) in order."""
        keys = sorted({(version, kind) for version, kind, _ in self.counts})
        return [
            (version, kind, {state: self.counts[(version, kind, state)] for state in STATES})
            for version, kind in keys
        ]

    def lines(self, policy: str) -> list[str]:
        """Human summary lines, e.g. 'privacy v2 notice: 10 sent, 1 failed-permanent'."""
        result = []
        for version, kind, counts in self.groups():
            parts = [f"{count} {state}" for state, count in counts.items() if count]
            result.append(f"{policy} v{version} {kind}: " + ", ".join(parts))
        return result

    def to_json(self) -> dict[str, Any]:
        """Counts as plain data."""
        return {
            "records": self.records,
            "groups": [
                {"version": version, "kind": kind, "counts": counts}
                for version, kind, counts in self.groups()
            ],
        }


def write_csv(records: Iterable[NoticeRecord], info: ExportInfo, out: TextIO) -> ExportSummary:
    """A '#' metadata line, a header row, then one row per notice (RFC 4180 CSV)."""
    summary = ExportSummary()
    out.write(f"# {info.describe()}\r\n")
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for record in records:
        row = record_fields(record)
        writer.writerow([_csv_cell(record, name, row[name]) for name in FIELDS])
        summary.add(record)
    return summary


def write_json(
    records: Iterable[NoticeRecord],
    info: ExportInfo,
    out: TextIO,
    changes: Iterable[SubscriptionChange] = (),
) -> ExportSummary:
    """``{"export": metadata, "notices": [...], "subscription_changes": [...], "summary":
    counts}``, written as it streams."""
    summary = ExportSummary()
    out.write('{"export": ' + json.dumps(info.to_json(), ensure_ascii=False) + ',\n"notices": [')
    for record in records:
        out.write(",\n" if summary.records else "\n")
        out.write(json.dumps(record_fields(record), ensure_ascii=False))
        summary.add(record)
    out.write('\n],\n"subscription_changes": [')
    for index, change in enumerate(changes):
        out.write(
            (",\n" if index else "\n") + json.dumps(change_fields(change), ensure_ascii=False)
        )
    out.write('\n],\n"summary": ' + json.dumps(summary.to_json(), ensure_ascii=False) + "}\n")
    return summary


def write_text(
    records: Iterable[NoticeRecord],
    info: ExportInfo,
    out: TextIO,
    changes: Iterable[SubscriptionChange] = (),
) -> ExportSummary:
    """A readable listing; TIME is when a row was sent, or its last change otherwise. A row
    with more than one history entry is followed by them, indented; then the subscription
    changes, then the summary."""
    summary = ExportSummary()
    out.write(info.describe() + "\n")
    header = f"{'VERSION':<8}{'KIND':<10}{'STATE':<18}{'TRIES':>5}  {'TIME':<21}"
    out.write(header + "EMAIL  MESSAGE-ID  SMTP REPLY\n")
    for record in records:
        moment = record.sent_at if record.state == "sent" else record.updated_at
        reply = " ".join(
            str(part) for part in (record.last_code, record.last_message) if part is not None
        )
        if record.state == "bounced":
            reply = f"bounced: {record.reason}"
        tail = "  ".join(
            part for part in (record.email, record.message_id or "-", reply or record.reason or "-")
        )
        out.write(
            f"{'v' + str(record.version):<8}{record.kind:<10}{record.state:<18}"
            f"{record.attempts:>5}  {utc_iso(moment):<21}{tail}\n"
        )
        if len(record.history) > 1:
            out.writelines(f"        {describe_event(event)}\n" for event in record.history)
        summary.add(record)
    for index, change in enumerate(changes):
        if not index:
            out.write("subscription changes (time, action, channel, address):\n")
        out.write(f"  {utc_iso(change.at)} {change.action} {change.channel} {change.email}\n")
    for line in summary.lines(info.policy) or [f"no notices recorded for {info.policy}"]:
        out.write(line + "\n")
    return summary


_WRITERS: dict[str, Callable[..., ExportSummary]] = {
    "text": write_text,
    "csv": write_csv,
    "json": write_json,
}


def export_notices(
    store: Store,
    policy: str,
    *,
    version: int | None = None,
    kind: str | None = None,
    fmt: str = "text",
    out: TextIO | None = None,
    path: Path | None = None,
) -> ExportSummary:
    """Write the ledger of ``policy`` as ``fmt`` to ``out``, or atomically to ``path``."""
    if fmt not in _WRITERS:
        raise InputError(f"unknown export format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    writer = _WRITERS[fmt]
    info = ExportInfo(policy=policy, version=version, kind=kind, database=store.dialect)
    records = store.iter_notices(policy, version, kind, history=True)
    # The CSV export is one table of notices; the others also list subscription changes.
    extra = () if fmt == "csv" else (store.iter_changes(policy=policy),)
    if path is None:
        if out is None:
            raise ValueError("export_notices needs out or path")
        return writer(records, info, out, *extra)
    return _write_atomic(path, lambda handle: writer(records, info, handle, *extra))


def _write_atomic(path: Path, write: Callable[[TextIO], ExportSummary]) -> ExportSummary:
    """Write the export through a private (0600) temporary file, fsync, then rename."""
    with atomic_open(path, text=True, private=True, create_dirs=False) as handle:
        return write(handle)
