"""The few SQL pieces that differ between SQLite, MySQL/MariaDB, DuckDB and ClickHouse.

Everything else in a report is portable SQLAlchemy Core. Each piece here is a small
construct compiled per dialect, so a statement stays one object that prints the same way
on every engine apart from these spots. No division happens in SQL at all: ratios are
taken in Python from the sums, which sidesteps integer-vs-float division everywhere.
"""
from __future__ import annotations

from sqlalchemy import String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import Boolean, Integer

LIKE_ESCAPE = "!"


class day_of(FunctionElement):
    """The calendar date of a naive DATETIME as 'YYYY-MM-DD' text."""
    type = String()
    name = "day_of"
    inherit_cache = True


class hour_of(FunctionElement):
    """The hour (0-23) of a naive DATETIME as an integer."""
    type = Integer()
    name = "hour_of"
    inherit_cache = True


def _format(compiler, text: str) -> str:
    """A format literal with '%' in it, as the driver must receive it: doubled for the
    'format'/'pyformat' drivers (pymysql), which would otherwise read '%Y' as a placeholder."""
    return compiler.post_process_text(text)


@compiles(day_of)
def _day_default(element, compiler, **kw):
    return "substr(CAST(%s AS VARCHAR), 1, 10)" % compiler.process(element.clauses, **kw)


@compiles(day_of, "sqlite")
def _day_sqlite(element, compiler, **kw):
    return "strftime(%s, %s)" % (_format(compiler, "'%Y-%m-%d'"),
                                 compiler.process(element.clauses, **kw))


@compiles(day_of, "mysql")
@compiles(day_of, "mariadb")
def _day_mysql(element, compiler, **kw):
    return "DATE_FORMAT(%s, %s)" % (compiler.process(element.clauses, **kw),
                                    _format(compiler, "'%Y-%m-%d'"))


@compiles(day_of, "duckdb")
def _day_duckdb(element, compiler, **kw):
    # DATE to VARCHAR is ISO 'YYYY-MM-DD'; about twice as fast as strftime() per row
    # (10M rows: ~1.2 s against ~2.4 s), which a month report by day pays on every call.
    return "CAST(CAST(%s AS DATE) AS VARCHAR)" % compiler.process(element.clauses, **kw)


@compiles(day_of, "chdb")
@compiles(day_of, "clickhousedb")
def _day_clickhouse(element, compiler, **kw):
    return "toString(toDate(%s))" % compiler.process(element.clauses, **kw)


@compiles(hour_of)
def _hour_default(element, compiler, **kw):
    return "EXTRACT(HOUR FROM %s)" % compiler.process(element.clauses, **kw)


@compiles(hour_of, "sqlite")
def _hour_sqlite(element, compiler, **kw):
    return "CAST(strftime(%s, %s) AS INTEGER)" % (_format(compiler, "'%H'"),
                                                  compiler.process(element.clauses, **kw))


@compiles(hour_of, "mysql")
@compiles(hour_of, "mariadb")
def _hour_mysql(element, compiler, **kw):
    return "HOUR(%s)" % compiler.process(element.clauses, **kw)


@compiles(hour_of, "duckdb")
def _hour_duckdb(element, compiler, **kw):
    return "CAST(hour(CAST(%s AS TIMESTAMP)) AS INTEGER)" % compiler.process(element.clauses, **kw)


@compiles(hour_of, "chdb")
@compiles(hour_of, "clickhousedb")
def _hour_clickhouse(element, compiler, **kw):
    return "toInt32(toHour(%s))" % compiler.process(element.clauses, **kw)


class fold_case(FunctionElement):
    """Text in lower case for a case-insensitive match: lower() everywhere but on ClickHouse,
    whose lower() folds ASCII letters only (lowerUTF8 folds every letter, as MySQL and DuckDB do)."""
    type = String()
    name = "fold_case"
    inherit_cache = True


@compiles(fold_case)
def _fold_default(element, compiler, **kw):
    return "lower(%s)" % compiler.process(element.clauses, **kw)


@compiles(fold_case, "chdb")
@compiles(fold_case, "clickhousedb")
def _fold_clickhouse(element, compiler, **kw):
    return "lowerUTF8(%s)" % compiler.process(element.clauses, **kw)


class exact_text(FunctionElement):
    """Text compared byte for byte: MySQL's default collations would fold case and accents,
    so that failover attempts 'AB' and 'ab' would count as one call there and two elsewhere."""
    type = String()
    name = "exact_text"
    inherit_cache = True


@compiles(exact_text)
def _exact_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(exact_text, "mysql")
@compiles(exact_text, "mariadb")
def _exact_mysql(element, compiler, **kw):
    return "CAST(%s AS BINARY)" % compiler.process(element.clauses, **kw)


CLICKHOUSE_ESCAPE = "\\"       # ClickHouse's LIKE escapes with a backslash, and has no ESCAPE


def escape_like(text: str, escape: str = LIKE_ESCAPE) -> str:
    """Escape LIKE's specials so that only '%' (left alone) stays a wildcard."""
    return text.replace(escape, escape * 2).replace("_", escape + "_")


class like_folded(FunctionElement):
    """fold_case(text) LIKE fold_case(pattern): the pattern given twice, escaped with '!'
    (ESCAPE '!', standard SQL) and with a backslash (ClickHouse, whose LIKE takes no ESCAPE
    clause in older servers and in clickhouse-connect's compiler); each engine renders its
    own, so the statement stays one object."""
    type = Boolean()
    name = "like_folded"
    inherit_cache = True


@compiles(like_folded)
def _like_default(element, compiler, **kw):
    text, pattern, _ = element.clauses.clauses
    return "(%s LIKE %s ESCAPE '%s')" % (compiler.process(fold_case(text), **kw),
                                       compiler.process(fold_case(pattern), **kw), LIKE_ESCAPE)


@compiles(like_folded, "chdb")
@compiles(like_folded, "clickhousedb")
def _like_clickhouse(element, compiler, **kw):
    text, _, pattern = element.clauses.clauses
    return "(%s LIKE %s)" % (compiler.process(fold_case(text), **kw),
                           compiler.process(fold_case(pattern), **kw))


def _like(column: ColumnElement, pattern) -> ColumnElement:
    """`pattern(escape)`: the LIKE pattern escaped with `escape`."""
    return like_folded(column, literal(pattern(LIKE_ESCAPE), String()),
                       literal(pattern(CLICKHOUSE_ESCAPE), String()))


def matches(column: ColumnElement, value: str) -> ColumnElement:
    """MOR's text filter: '%' is the only wildcard, '_' is literal, letter case is ignored.

    Without '%' the pattern has no wildcard at all and so is an exact match; one code path
    serves both. lower() on both sides makes it case-insensitive on every engine, whatever
    the column's collation (DuckDB's LIKE is case-sensitive, MySQL's depends on collation).
    """
    return _like(column, lambda escape: escape_like(value, escape))


def contains(column: ColumnElement, value: str) -> ColumnElement:
    """A case-insensitive substring match in which '%' and '_' are literal (MOR's clid)."""
    return _like(column, lambda escape: "%" + escape_like(value, escape).replace("%", escape + "%") + "%")


def column_names(conn, table_name: str) -> set[str]:
    """The lower-cased column names of a table. duckdb-engine's reflection reads
    pg_catalog tables DuckDB does not have, so DuckDB is asked through its own catalogue."""
    if conn.dialect.name == "duckdb":
        rows = conn.exec_driver_sql("SELECT column_name FROM duckdb_columns() WHERE table_name = ?",
                                    (table_name,))
        return {r[0].lower() for r in rows}
    from sqlalchemy import inspect
    return {c["name"].lower() for c in inspect(conn).get_columns(table_name)}
