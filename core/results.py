"""A report statement's rows as a pandas DataFrame, built a column at a time.

DuckDB hands its result over as Arrow: columns in C buffers, never a Python object per
cell. The statement is SQLAlchemy's, compiled for DuckDB with its bound parameters, and
run as a DuckDB relation: a DB-API execute() would keep a second copy of every row
(at 2.5M rows, ~600 MB more at the peak). Its exact types are made plain: DECIMAL sums
become float64 through their exact decimal text (the correctly rounded float that
float(Decimal) gives, so a report is the same to the last bit whichever way it was
fetched), whole numbers int64. Other drivers give rows; those are read in partitions and
regrouped into columns, which pandas types exactly as it types a list of row tuples.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

BATCH_ROWS = 100_000


def fetch(conn: Connection, stmt: Select) -> pd.DataFrame:
    """Run the SELECT on `conn`; every row as a DataFrame with the statement's column names."""
    if conn.dialect.name == "duckdb":
        return _duckdb_frame(conn, stmt)
    return frame(conn.execute(stmt), [c.name for c in stmt.selected_columns])


def driver_sql(conn: Connection, stmt: Select) -> tuple[str, list]:
    """The statement as the driver receives it: SQL text with placeholders, and the bound
    values in their order (expanding IN lists rendered as single parameters)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    return compiled.string, [values[name] for name in compiled.positiontup or ()]


def _duckdb_frame(conn: Connection, stmt: Select) -> pd.DataFrame:
    import duckdb

    sql, values = driver_sql(conn, stmt)
    names = [c.name for c in stmt.selected_columns]
    driver = conn.connection.driver_connection
    try:
        driver.abort()   # a result read only in part (`.first()`) would refuse a new statement
        # Text as Arrow's large strings, the form pandas keeps: no copy of every label.
        driver.sql("SET SESSION arrow_large_buffer_size = true")
        relation = driver.sql(sql, params=values)
        relation = relation.select(*(_plain(name, kind) for name, kind in zip(relation.columns,
                                                                              relation.types, strict=True)))
        batches = relation.to_arrow_reader(BATCH_ROWS)
        table = pa.Table.from_batches(list(batches), schema=batches.schema)
    except duckdb.Error as exc:   # as SQLAlchemy would have raised it
        raise DBAPIError.instance(sql, values, exc, duckdb.Error) from exc
    if not table.num_rows:
        return _no_rows(names)
    table = table.rename_columns(names)
    # self_destruct: each Arrow column is released as soon as pandas holds it.
    return table.to_pandas(self_destruct=True, split_blocks=True)


def _plain(name: str, kind):
    """A DuckDB result column as Arrow should carry it: DECIMAL sums as DOUBLE through their
    exact text (parsed correctly rounded, as float(Decimal) is; a direct DECIMAL -> DOUBLE
    is not promised to be, and Arrow's is not), whole numbers as BIGINT (what the report
    keeps: no second copy of every id when it is typed)."""
    from duckdb import ColumnExpression, sqltypes

    column = ColumnExpression(name)
    if kind.id in ("hugeint", "integer", "smallint", "tinyint") \
            or (kind.id == "decimal" and dict(kind.children)["scale"] == 0):
        return column.cast(sqltypes.BIGINT).alias(name)   # int64, as pandas types Python ints
    if kind.id == "decimal":
        return column.cast(sqltypes.VARCHAR).cast(sqltypes.DOUBLE).alias(name)
    return column


def frame(result: CursorResult, names: list[str] | None = None) -> pd.DataFrame:
    """Every row of `result` (an executed SELECT) as a DataFrame with its column names:
    `names` (the statement's), else the result's. A ClickHouse server sends no column
    names with no rows, and the names clickhouse-connect then asks for are lost when a
    filter's value holds `--` (its comment stripper ignores quotes)."""
    names = list(result.keys()) if names is None else names
    columns: list[list] = [[] for _ in names]
    for part in result.partitions(BATCH_ROWS):
        for values, column in zip(zip(*part, strict=True), columns, strict=True):
            column.extend(values)
    if not columns or not columns[0]:
        return _no_rows(names)
    return pd.DataFrame(dict(zip(names, columns, strict=True)), columns=names)


def _no_rows(names: list[str]) -> pd.DataFrame:
    """An empty result typed as pandas types an empty list of rows (object columns)."""
    return pd.DataFrame([], columns=names)
