"""The merchant UI: server-rendered pages (Jinja2 + htmx, SortableJS).

It reads and changes data only through the system's HTTP APIs (in-process, as the session's
tenant); its one table is its own session store (`web/models.py`). `web.routes.router` is
what `app.py` includes.
"""
