"""The merchant UI: server-rendered pages (Jinja2 + htmx, SortableJS)."""
