"""Jobs: the work (``work.py``, one code path) and its two executors, the embedded local pool
(``local.py``) and Celery workers (``celery_app.py``, ``tasks.py``), chosen by the broker URL
setting. The database is the source of truth for every job; see docs/jobs.md."""
