"""A throwaway PostgreSQL schema for a benchmark run: made on a given server, dropped after.

Shared by ``claim_bench.py`` and ``import_bench.py`` (run from ``benchmarks/``, which Python
puts first on the import path).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa


def fresh_schema(base: str) -> tuple[str, str]:
    """``(URL whose search_path is a new empty schema, the schema's name)`` on ``base``."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    _execute(base, f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(base: str, schema: str) -> None:
    """Drop ``schema`` and everything in it from ``base``."""
    _execute(base, f'DROP SCHEMA "{schema}" CASCADE')


def _execute(base: str, statement: str) -> None:
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()
