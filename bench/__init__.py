"""Benchmarks of the report on SQLite, MariaDB and DuckDB: `python -m bench --help`.

Demo databases of 100k, 1M and 10M call records (30 days) are built once and cached under
bench/cache/ (git-ignored); each measurement runs in its own child process so that its
peak memory is its own. Results go to docs/benchmarks.md and docs/benchmarks.html.
"""
