"""floe's demo: a DuckDB medallion pipeline (bronze Python assets -> silver dbt staging -> gold dbt marts).

A package so that ``dagster dev -m demo.definitions`` and the tests can import ``demo.assets.*`` with the
repository root on ``sys.path``.
"""
