"""A report's columns as text, a column at a time: what lets exports keep pace with the engine.

The exporters (core.exports) define what one cell looks like; here a whole column becomes
an Arrow string array in vectorised steps, and only the rare cells that need more (a
formula to neutralise, a quote to double, a character to escape, a float whose shortest
form is not positional) go through the exporter's own per-cell function. So the text is
the per-cell writer's, byte for byte, at the speed of Arrow's compute kernels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pa.large_string()


@dataclass(frozen=True)
class Cells:
    """How one format writes a cell."""

    cell: Callable[[object], str]   # any value as the format writes it: the rule, and the slow path
    special: str                    # RE2 pattern of text that needs `cell` (quoting, escaping, formulas)
    quote: str                      # around plain text ('"' for JSON strings)
    missing: str                    # None / NaN
    fixed6: bool                    # floats with 6 decimals, trailing zeros cut (CSV); else repr()


def _scalar(text: str) -> pa.Scalar:
    return pa.scalar(text, TEXT)


class NotText(Exception):
    """A column this module does not write (objects of mixed kinds, pd.NA, nullable or narrow
    dtypes, text Arrow cannot hold): the caller writes those rows record by record."""


def texts(values: pd.Series, cells: Cells) -> pa.Array:
    """Every value of the column as `cells.cell` writes it, as an Arrow string array.

    Handles bool, numpy integers, float64 and text (with None or NaN for missing): what a
    report holds. Anything else raises NotText."""
    dtype = values.dtype
    if dtype == np.bool_:
        return _text_array([cells.cell(v) for v in values.tolist()])
    if pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype):
        return pc.cast(pa.array(values.to_numpy()), TEXT)
    if dtype == np.float64:
        return _floats(values.to_numpy(), cells)
    return _strings(_as_text(values), cells)


def _text_array(texts: list[str]) -> pa.Array:
    try:
        return pa.array(texts, TEXT)
    except (pa.ArrowException, UnicodeError) as exc:   # e.g. a lone surrogate
        raise NotText(str(exc)) from None


def _as_text(values: pd.Series) -> pa.Array:
    """A column of text, missing values (None, NaN) as nulls."""
    dtype = values.dtype
    plain_str = isinstance(dtype, pd.StringDtype) and dtype.na_value is np.nan
    if not (plain_str or pd.api.types.is_object_dtype(dtype)):
        raise NotText(f"a column of {dtype}")
    if pd.api.types.is_object_dtype(dtype):
        missing = values.isna().to_numpy()
        if missing.any() and not all(v is None or (isinstance(v, float) and math.isnan(v))
                                     for v in values[missing].tolist()):
            raise NotText("pd.NA or NaT among text")
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowException, ValueError, TypeError, UnicodeError) as exc:
        raise NotText(str(exc)) from None
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), TEXT)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise NotText(f"objects of {arr.type}")
    return arr.cast(TEXT)


def _strings(arr: pa.Array, cells: Cells) -> pa.Array:
    filled = pc.fill_null(arr, "") if arr.null_count else arr
    out = filled
    if cells.quote:
        out = pc.binary_join_element_wise(_scalar(cells.quote), filled, _scalar(cells.quote), _scalar(""))
    if arr.null_count:
        out = pc.if_else(pc.is_null(arr), _scalar(cells.missing), out)
    special = pc.match_substring_regex(filled, cells.special)
    return _replaced(out, special, lambda i: arr[i].as_py(), cells)


def _replaced(out: pa.Array, mask, value_at: Callable[[int], object], cells: Cells) -> pa.Array:
    """`out` with the cells where `mask` is true written by `cells.cell`, one by one."""
    mask = pa.array(mask) if not isinstance(mask, (pa.Array, pa.ChunkedArray)) else mask
    if not pc.any(mask).as_py():
        return out
    where = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    slow = _text_array([cells.cell(value_at(int(i))) for i in where])
    return pc.replace_with_mask(out, mask, slow)


def _floats(values: np.ndarray, cells: Cells) -> pa.Array:
    return _fixed6(values, cells) if cells.fixed6 else _shortest(values, cells)


def _fixed6(values: np.ndarray, cells: Cells) -> pa.Array:
    """f"{v:.6f}" without trailing zeros (the CSV rule).

    '%.6f' rounds the exact value of v × 10^6 half to even. The float product can be off by
    half an ulp, so its exact error is taken too (Dekker's product: 10^6 needs no split),
    and the rounding decided on product + error, ties included. m / 10^6 is then the double
    nearest to that decimal, whose shortest form (Arrow's cast) is its digits when they are
    at most 15. NaN, infinities and |v| >= 10^9 are written per cell."""
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * 1e6
        high = values * 134217729.0          # 2^27 + 1: v = high + low, each of 26 bits
        high = high - (high - values)
        error = (high * 1e6 - scaled) + (values - high) * 1e6   # scaled + error = v × 10^6
        floor = np.floor(scaled)
        beyond_half = (scaled - (floor + 0.5)) + error          # the sign of exact − (floor + ½)
        micro = floor + ((beyond_half > 0) | ((beyond_half == 0) & (floor % 2 == 1)))
        slow = ~np.isfinite(error) | (np.abs(scaled) >= 1e15)
    # |m / 10^6| is 0 or in [1e-6, 1e9), where Arrow writes no exponent (< 1e10; >= 1e-6).
    out = pc.cast(pa.array(np.where(slow, 0.0, micro) / 1e6 + 0.0), TEXT)   # + 0.0: no "-0"
    return _replaced(out, slow, lambda i: float(values[i]), cells)


def _shortest(values: np.ndarray, cells: Cells) -> pa.Array:
    """repr(v): Arrow's shortest round-trip digits, which are Python's where both write them
    positionally: Python for 1e-4 <= |v| < 1e16, Arrow for 1e-6 <= |v| < 1e10. ".0" is added
    to whole numbers as repr does. NaN, infinities and the rest are written per cell."""
    out = pc.cast(pa.array(values), TEXT)
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        slow = ~np.isfinite(values) | ((magnitude < 1e-4) & (values != 0)) | (magnitude >= 1e10)
        whole = ~slow & (np.floor(values) == values)
    if whole.any():
        out = pc.if_else(pa.array(whole), ended(out, ".0"), out)
    return _replaced(out, slow, lambda i: float(values[i]), cells)


# --- rows -------------------------------------------------------------------------------------

def interleaved(pieces: Sequence[str | pa.Array]) -> list:
    """Literal text and text columns, in order, merged so that one join builds each row."""
    merged: list = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def rows_text(parts: Sequence[str | pa.Array], separator: str = "") -> str:
    """The rows one after another, each row its parts joined by `separator`. Parts are text
    columns of equal length, or literal text repeated on every row. The joined rows already
    lie end to end in the result's data buffer: that buffer is the text."""
    columns = [_scalar(p) if isinstance(p, str) else p for p in parts]
    if not any(isinstance(c, (pa.Array, pa.ChunkedArray)) and len(c) for c in columns):
        return ""
    rows = pc.binary_join_element_wise(*columns, _scalar(separator))
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    _, offsets, data = rows.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64, count=len(rows) + 1, offset=rows.offset * 8)
    return str(memoryview(data)[int(bounds[0]):int(bounds[-1])], "utf-8")


def ended(column: pa.Array, end: str) -> pa.Array:
    """Each value followed by `end`."""
    return pc.binary_join_element_wise(column, _scalar(""), _scalar(end))
