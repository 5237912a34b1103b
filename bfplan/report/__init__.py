"""What people read: ``text`` (run summary, check report, gaps on a terminal), ``grid`` (the
processor x date status grid) and ``html`` (the self-contained report page)."""
