"""The HTTP service: ``create_app()`` (``app.py``) with one package per dialect, ``openai/``
and ``sora/``, and cinegen's own routes in ``native/``; the modules here are what they all
share (errors, dependencies, request bodies, failed-authentication limits, tasks, uploads,
characters)."""
