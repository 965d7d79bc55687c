"""Subscriber lists from CSV files: each row checked on its own, imported in batches.

The file is streamed: read in chunks, upserted every ``_IMPORT_BATCH`` rows, and the
addresses seen so far (to report repeats by line) kept in a temporary SQLite file, so memory
stays flat at any size. The encoding is checked in a first pass, so a file that is not
UTF-8 imports nothing.

Addresses are personal data: reports and logs give line numbers and reasons, never an
address other than in the reason for its own row.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from redline.errors import InputError
from redline.ledger.checks import SubscriberInput, email_key
from redline.ledger.subscribers import earlier_names, make_subscriber

if TYPE_CHECKING:
    from redline.ledger.store import Store

LOG = logging.getLogger("redline.ledger.subscribers")

COLUMNS = ("email", "name", "locale", "policies")
_IMPORT_BATCH = 1000
_CHUNK = 1 << 20
_SQL_VARIABLES = 900  # under SQLite's oldest limit of 999 parameters


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


def _open(path: Path) -> BinaryIO:
    """The file opened for reading; InputError when it is missing or unreadable."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found", hint="check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def _check_utf8(path: Path) -> None:
    """InputError with the line of the first byte that is not UTF-8; read in chunks.

    A pass of its own, so that a bad byte deep in a file stops the import before any row.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    lines = 0
    with _open(path) as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # The decoder may hold back the end of the previous chunk; count from it.
                held = max(0, len(exc.object) - len(chunk))
                lines += chunk.count(b"\n", 0, max(0, exc.start - held))
                raise InputError(
                    f"{path}:{lines + 1}: not UTF-8 text",
                    hint="save the file as UTF-8 CSV and import again",
                ) from None
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError(
                f"{path}:{lines + 1}: not UTF-8 text",
                hint="save the file as UTF-8 CSV and import again",
            ) from None


@contextmanager
def _text_lines(path: Path) -> Iterator[tuple[str, Iterator[str]]]:
    """(the first non-blank line, every line) of the file, read in chunks, endings kept."""
    _check_utf8(path)
    with _open(path) as handle, io.TextIOWrapper(handle, "utf-8-sig", newline="") as text:
        lines = iter(text)
        head: list[str] = []
        for line in lines:
            head.append(line)
            if line.strip():
                break
        yield (head[-1] if head else ""), chain(head, lines)


def _delimiter(header_line: str) -> str:
    """',' unless the header line clearly uses ';' or a tab instead."""
    if "," in header_line:
        return ","
    for candidate in (";", "\t"):
        if candidate in header_line:
            return candidate
    return ","


def _records(lines: Iterator[str], delimiter: str) -> Iterator[tuple[int, list[str] | str]]:
    """(first line number, fields or an error reason) for each CSV record."""
    reader = csv.reader(lines, delimiter=delimiter)
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
    report = ImportReport(path=str(path))
    with _text_lines(path) as (first_line, lines), _Seen() as seen:
        records = _records(lines, _delimiter(first_line))
        columns = _header(path, records)
        report.ignored_columns = tuple(name for name in columns if name not in COLUMNS)
        if report.ignored_columns:
            LOG.warning("%s: ignoring columns: %s", path, ", ".join(report.ignored_columns))
        batch: list[tuple[int, SubscriberInput]] = []
        for line, fields in records:
            if isinstance(fields, list) and not any(value.strip() for value in fields):
                continue
            report.rows += 1
            item = _row_subscriber(line, fields, columns, known_policies, report)
            if item is not None:
                batch.append((line, item))
            if len(batch) >= _IMPORT_BATCH:
                _flush(store, seen.first_of(batch, report), report, resubscribe)
        _flush(store, seen.first_of(batch, report), report, resubscribe)
    report.skipped.sort(key=lambda row: row.line)
    LOG.info("%s: %s", path, report.summary())
    return report


class _Seen:
    """The addresses imported so far and their lines, in a temporary SQLite file.

    On disk rather than in a dict, so that memory stays flat however long the file is.
    """

    def __enter__(self) -> _Seen:
        self._dir = tempfile.TemporaryDirectory(prefix="redline-import-")
        self._db = sqlite3.connect(Path(self._dir.name) / "seen.db")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE seen (email TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._db.close()
        self._dir.cleanup()

    def first_of(
        self, batch: list[tuple[int, SubscriberInput]], report: ImportReport
    ) -> list[SubscriberInput]:
        """The items of ``batch`` (emptied) whose address is new, case ignored; the rest
        skipped."""
        keys = [email_key(item.email) for _, item in batch]
        earlier: dict[str, int] = {}
        for start in range(0, len(keys), _SQL_VARIABLES):
            chunk = keys[start : start + _SQL_VARIABLES]
            marks = ", ".join("?" * len(chunk))
            earlier.update(
                self._db.execute(f"SELECT email, line FROM seen WHERE email IN ({marks})", chunk)
            )
        first: list[SubscriberInput] = []
        added: list[tuple[str, int]] = []
        for key, (line, item) in zip(keys, batch, strict=True):
            if key in earlier:
                report.skipped.append(SkippedRow(line, f"same address as line {earlier[key]}"))
                continue
            earlier[key] = line
            added.append((key, line))
            first.append(item)
        self._db.executemany("INSERT INTO seen (email, line) VALUES (?, ?)", added)
        batch.clear()
        return first


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
