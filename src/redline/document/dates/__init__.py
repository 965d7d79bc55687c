"""Effective dates: find them in every form policies write them, and rewrite them in place.

redline works on the raw text here, never on the parsed model, so that a rewrite changes the
date and nothing else: label, punctuation, emphasis, links, line endings, trailing newline and
encoding stay byte for byte as they were.

Where a date is found:

* a labelled line (``Effective date:``, ``Last updated``, ``Effective as of`` ...), the date or
  the whole line optionally wrapped in bold, italic, a link, a heading or a list item;
* a bare date alone on an emphasised line near the top (under the title);
* a front matter key (``effective_date``, ``effective``, ``last_updated`` ...);
* any line followed by (or carrying) a kramdown/HTML ``datetime="YYYY-MM-DD"`` attribute,
  which is kept in sync with the human-readable date;
* a labelled line with nothing after the colon, or a placeholder (``____``, ``TBD``,
  ``MM/DD/YYYY``), is a blank date waiting to be filled in.

Forms: ``2020-05-14``, ``05/14/2020`` and ``14/05/2020`` (config ``date_order`` decides when
both readings are valid), ``14.05.2020`` (the same rule),
``May 14, 2020``, ``14 May 2020``, ``May 14th, 2020``, abbreviated months with or without a dot
(``Sept``), optional weekdays, and month names of the config ``locale`` via babel.

The public API is re-exported here (``__all__``); the modules of this package are its parts,
and their underscored names are private to the package.
"""

from redline.document.dates.blocks import (
    MAX_DATE_LINE,
    date_statement,
    is_date_line,
    is_only_statement,
    statement_finder,
)
from redline.document.dates.command_line import (
    ENV_TODAY,
    parse_iso_date,
    parse_offset,
    resolve_today,
)
from redline.document.dates.edit import edit_effective_date, set_effective_date
from redline.document.dates.evidence import (
    ORDER_SOURCES,
    OrderEvidence,
    RepositoryOrders,
    locale_order,
    order_proof,
    resolve_date_order,
)
from redline.document.dates.labels import DEFAULT_LABEL, date_line
from redline.document.dates.options import DateOptions, date_options
from redline.document.dates.policy import PolicyDate, inspect_policy_date
from redline.document.dates.policy_file import PolicyFile, read_policy_file, write_policy_date
from redline.document.dates.read import (
    earliest_reading,
    earliest_writable,
    find_effective_date,
    first_managed,
    split_dates,
    strip_dates,
)
from redline.document.dates.results import (
    DateEdit,
    DateMatch,
    DatetimeAttribute,
    EffectiveDate,
    LineChange,
)
from redline.document.dates.scan import find_dates
from redline.document.dates.tokens import DATE_ORDER_HINT

__all__ = [
    "DATE_ORDER_HINT",
    "DEFAULT_LABEL",
    "ENV_TODAY",
    "MAX_DATE_LINE",
    "ORDER_SOURCES",
    "DateEdit",
    "DateMatch",
    "DateOptions",
    "DatetimeAttribute",
    "EffectiveDate",
    "LineChange",
    "OrderEvidence",
    "PolicyDate",
    "PolicyFile",
    "RepositoryOrders",
    "date_line",
    "date_options",
    "date_statement",
    "earliest_reading",
    "earliest_writable",
    "edit_effective_date",
    "find_dates",
    "find_effective_date",
    "first_managed",
    "inspect_policy_date",
    "is_date_line",
    "is_only_statement",
    "locale_order",
    "order_proof",
    "parse_iso_date",
    "parse_offset",
    "read_policy_file",
    "resolve_date_order",
    "resolve_today",
    "set_effective_date",
    "split_dates",
    "statement_finder",
    "strip_dates",
    "write_policy_date",
]
