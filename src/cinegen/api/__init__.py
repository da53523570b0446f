"""The HTTP service: ``create_app()`` (``app.py``) with one module per dialect."""
