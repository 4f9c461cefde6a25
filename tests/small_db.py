"""tests/fixture_small.py as an SQLite file, for tests that run the app (AppTest, a browser)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests.engines import populate
from tests.fixture_small import TABLES


def build_small_sqlite(path: Path) -> Path:
    """Write the small MOR dataset to a fresh SQLite file at `path` and return the path."""
    path = Path(path)
    if path.exists():
        path.unlink()
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        populate(engine, TABLES)
    finally:
        engine.dispose()
    return path
