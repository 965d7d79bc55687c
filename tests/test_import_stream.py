"""Streaming subscriber import: files larger than a read chunk and a batch, line numbers deep
in them, a bad byte far down that imports nothing, repeats across batches."""

from __future__ import annotations

import pytest

from redline.errors import InputError
from redline.ledger import csv_import
from redline.ledger.csv_import import import_csv
from redline.ledger.store import Store

ROWS = 6_000  # 6 batches


def big_csv(path, rows: int = ROWS, *, bad: dict[int, str] | None = None) -> None:
    """A CSV of ``rows`` subscribers; ``bad`` replaces the row on that file line."""
    bad = bad or {}
    lines = ["email,name,locale\n"]
    for index in range(rows):
        line_number = index + 2
        lines.append(
            bad.get(line_number, f"user{index:06d}@example.com,Ádám Łukasz {index:06d} Øst,de\n")
        )
    path.write_text("".join(lines), encoding="utf-8")


@pytest.fixture
def small_chunks(monkeypatch):
    """Read 4 KiB at a time, so that the files cross many chunk boundaries (with 'Á', 'Ł'...)."""
    monkeypatch.setattr(csv_import, "_CHUNK", 4096)


def test_a_big_import_reports_bad_rows_deep_in_the_file_by_line(
    tmp_path, database_url, small_chunks
):
    path = tmp_path / "big.csv"
    big_csv(
        path,
        bad={
            4_321: "not-an-address,Nobody,de\n",
            5_500: "user000003@example.com,Again,de\n",  # line 5 has this address
            5_999: "only-one-field\n",
        },
    )
    assert path.stat().st_size > csv_import._CHUNK
    with Store.open(database_url) as store:
        report = import_csv(store, path)
        assert store.count_subscribers() == ROWS - 3
    assert (report.rows, report.added) == (ROWS, ROWS - 3)
    skipped = [(row.line, row.reason) for row in report.skipped]
    assert [line for line, _ in skipped] == [4_321, 5_500, 5_999]
    assert skipped[0][1].startswith("not a valid email address")
    assert skipped[1][1] == "same address as line 5"
    assert skipped[2][1] == "has 1 fields, the header has 3"


def test_a_byte_that_is_not_utf8_deep_in_the_file_imports_nothing(
    tmp_path, database_url, small_chunks
):
    path = tmp_path / "latin1.csv"
    big_csv(path, rows=30_000)
    data = path.read_bytes().splitlines(keepends=True)
    data[29_000] = "user999999@example.com,Müller,de\n".encode("latin-1")
    path.write_bytes(b"".join(data))
    with Store.open(database_url) as store:
        with pytest.raises(InputError, match=r"latin1.csv:29001: not UTF-8 text"):
            import_csv(store, path)
        assert store.count_subscribers() == 0


def test_a_character_split_across_read_chunks_is_fine(tmp_path):
    path = tmp_path / "split.csv"
    head = b"email,name\n"
    filler = b"a@example.com,"
    name = b"x" * (csv_import._CHUNK - len(head) - len(filler) - 1) + "é".encode()
    path.write_bytes(head + filler + name + b"\n")
    assert path.read_bytes()[csv_import._CHUNK - 1 : csv_import._CHUNK + 1] == "é".encode()
    csv_import._check_utf8(path)  # no error
    path.write_bytes(head + filler + name[:-1] + b"\n")  # a lone first byte of 'é'
    with pytest.raises(InputError, match=r"split.csv:2: not UTF-8 text"):
        csv_import._check_utf8(path)
