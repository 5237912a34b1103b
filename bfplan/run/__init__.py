"""Running a plan: ``runner`` (a run's lifecycle), ``selection`` (what to run), ``scheduler``
(in what order, how many at once), ``node`` (one node: retries, ledger marks, lineage),
``gates`` (the one way gates are evaluated, also by ``bfplan check``), ``params`` (what a
processor is handed), ``retry``, ``breakers``, ``events``, ``live``, ``stop`` and ``summary``.

Import from the modules themselves; this package's ``__init__`` imports nothing, so any of
them can be imported without the others.
"""
