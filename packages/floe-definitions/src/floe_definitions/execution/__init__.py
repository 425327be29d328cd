"""How runs execute: executor choice, the observed executor, step assets, step lineage, Celery wiring."""
