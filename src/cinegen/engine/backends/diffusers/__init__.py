"""The open-weight video families that run on diffusers pipelines (LTX, Wan, Wan VACE,
CogVideoX, Mochi, Hunyuan).

- ``backend.py``: ``DiffusersVideoBackend`` and ``FAMILIES``, the table of what differs
  between families (pipeline classes, call arguments, step cache, previews, held frames).
- ``tiny_twins.py``: each family's pipelines built in code with 1–2 layer random-weight
  networks, for tests and the ``-tiny-random`` models; nothing is downloaded.

Nothing is imported here, so naming a model does not load diffusers.
"""
