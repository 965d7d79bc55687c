"""Effective dates: find them in every form policies write them, and rewrite them in place.

The public API is re-exported here; the modules of this package are its parts.
"""

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
    "earliest_reading",
    "earliest_writable",
    "edit_effective_date",
    "find_dates",
    "find_effective_date",
    "first_managed",
    "inspect_policy_date",
    "locale_order",
    "order_proof",
    "parse_iso_date",
    "parse_offset",
    "read_policy_file",
    "resolve_date_order",
    "resolve_today",
    "set_effective_date",
    "split_dates",
    "strip_dates",
    "write_policy_date",
]
