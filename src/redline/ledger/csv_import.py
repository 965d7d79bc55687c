"""Subscriber lists from CSV files: each row checked on its own, imported in batches.

Addresses are personal data: reports and logs give line numbers and reasons, never an
address other than in the reason for its own row.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redline.errors import InputError
from redline.ledger.checks import SubscriberInput
from redline.ledger.subscribers import earlier_names, make_subscriber

if TYPE_CHECKING:
    from redline.ledger.store import Store

LOG = logging.getLogger("redline.ledger.subscribers")

COLUMNS = ("email", "name", "locale", "policies")
_IMPORT_BATCH = 500


@dataclass(frozen=True)
class SkippedRow:
    """A CSV row that was not imported, with its first line number (1-based) and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did; rows are counted without the header and blank lines."""

    path: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()
    renamed: dict[str, str] = field(default_factory=dict)  # earlier name -> current name

    def to_json(self) -> dict[str, Any]:
        """The report as plain data (no addresses)."""
        return {
            "path": self.path,
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": [{"line": row.line, "reason": row.reason} for row in self.skipped],
            "ignored_columns": list(self.ignored_columns),
            "renamed": dict(self.renamed),
        }

    def summary(self) -> str:
        """One line such as 'added 3, updated 1, unchanged 10, skipped 2 of 16 rows'."""
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"skipped {len(self.skipped)} of {self.rows} rows"
        )


def _read_text(path: Path) -> str:
    """The whole file as text; InputError for a missing, unreadable or non-UTF-8 file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found", hint="check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 text", hint="save the file as UTF-8 CSV and import again"
        ) from None


def _delimiter(header_line: str) -> str:
    """',' unless the header line clearly uses ';' or a tab instead."""
    if "," in header_line:
        return ","
    for candidate in (";", "\t"):
        if candidate in header_line:
            return candidate
    return ","


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str] | str]]:
    """(first line number, fields or an error reason) for each CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    while True:
        start = previous + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            previous = reader.line_num
            yield start, f"unreadable CSV: {exc}"
            continue
        previous = reader.line_num
        yield start, fields


def import_csv(
    store: Store,
    path: Path,
    *,
    known_policies: Mapping[str, str] | None = None,
    resubscribe: bool = False,
) -> ImportReport:
    """Add or update the subscribers listed in the CSV file at ``path``.

    The header row needs ``email``; ``name``, ``locale`` and ``policies`` (space-separated
    slugs, empty for every policy) are optional and other columns are ignored. Each row is
    checked on its own: a bad row is reported with its line number and reason and never
    stops the good ones. Addresses differing only in the case of the domain are the same
    subscriber; a repeated one is skipped. Importing the same file again changes nothing,
    and people who unsubscribed stay unsubscribed unless ``resubscribe``.
    """
    text = _read_text(path)
    report = ImportReport(path=str(path))
    first_line = next((line for line in io.StringIO(text) if line.strip()), "")
    records = _records(text, _delimiter(first_line))
    columns = _header(path, records)
    report.ignored_columns = tuple(name for name in columns if name not in COLUMNS)
    if report.ignored_columns:
        LOG.warning("%s: ignoring columns: %s", path, ", ".join(report.ignored_columns))
    seen: dict[str, int] = {}
    batch: list[SubscriberInput] = []
    for line, fields in records:
        if isinstance(fields, list) and not any(value.strip() for value in fields):
            continue
        report.rows += 1
        item = _row_subscriber(line, fields, columns, known_policies, report)
        if item is None:
            continue
        if item.email in seen:
            report.skipped.append(SkippedRow(line, f"same address as line {seen[item.email]}"))
            continue
        seen[item.email] = line
        batch.append(item)
        if len(batch) >= _IMPORT_BATCH:
            _flush(store, batch, report, resubscribe)
    _flush(store, batch, report, resubscribe)
    LOG.info("%s: %s", path, report.summary())
    return report


def _header(path: Path, records: Iterator[tuple[int, list[str] | str]]) -> list[str]:
    """The column names of the first non-blank record; InputError when it cannot be one."""
    columns: list[str] = []
    header_line = 0
    for header_line, header in records:
        if isinstance(header, str):
            raise InputError(f"{path}:{header_line}: cannot read the header row ({header})")
        columns = [name.strip().lower() for name in header]
        if any(columns):
            break
    if not any(columns):
        raise InputError(f"{path}: empty file", hint="the first row must name the columns: email")
    if "email" not in columns:
        raise InputError(
            f"{path}:{header_line}: the header row has no 'email' column",
            hint="name the columns in the first row, e.g. email,name,locale,policies",
        )
    duplicated = sorted({name for name in columns if name and columns.count(name) > 1})
    if duplicated:
        raise InputError(f"{path}:{header_line}: repeated column {duplicated[0]!r} in the header")
    return columns


def _row_subscriber(
    line: int,
    fields: list[str] | str,
    columns: list[str],
    known_policies: Mapping[str, str] | None,
    report: ImportReport,
) -> SubscriberInput | None:
    """The subscriber of one (non-blank) record, or None with the reason in ``report``."""
    if isinstance(fields, str):
        report.skipped.append(SkippedRow(line, fields))
        return None
    if len(fields) != len(columns):
        report.skipped.append(
            SkippedRow(line, f"has {len(fields)} fields, the header has {len(columns)}")
        )
        return None
    row = dict(zip(columns, fields, strict=True))
    try:
        item = make_subscriber(
            row["email"],
            row.get("name"),
            row.get("locale"),
            row.get("policies"),
            known_policies=known_policies,
        )
    except InputError as exc:
        report.skipped.append(SkippedRow(line, str(exc)))
        return None
    if known_policies is not None:
        asked = (row.get("policies") or "").split()
        report.renamed.update(earlier_names(known_policies, asked))
    return item


def _flush(
    store: Store, batch: list[SubscriberInput], report: ImportReport, resubscribe: bool
) -> None:
    for result in store.upsert_subscribers(batch, resubscribe=resubscribe):
        setattr(report, result, getattr(report, result) + 1)
    batch.clear()
