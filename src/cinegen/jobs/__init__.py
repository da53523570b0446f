"""Getting tasks done: the durable queue (``queue.py``) and the worker loop around the engine."""
