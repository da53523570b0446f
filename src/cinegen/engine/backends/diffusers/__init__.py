"""The open-weight video families that run on diffusers pipelines (LTX, LTX-2, Wan, Wan VACE,
CogVideoX, Mochi, Hunyuan).

- ``backend.py``: ``DiffusersVideoBackend``, one ``Backend`` for every family.
- ``loading.py``: a family's pipeline class per task, its weights from a directory or the
  hub, and a sibling pipeline over the modules already loaded.
- ``families.py``: ``FAMILIES``, the table of what differs between families (pipeline
  classes, call arguments, step cache, preview decoders, held frames); ``ltx2.py``: what
  LTX-2 adds (sound, keyframes, two stages, distilled weights).
- ``tiny_twins.py``: each family's pipelines built in code with 1–2 layer random-weight
  networks, for tests and the ``-tiny-random`` models; nothing is downloaded. The builds are
  in ``tiny_pipelines.py`` and ``tiny_ltx2.py``, their tokenizer and text encoders in
  ``tiny_text.py``.

Nothing is imported here, so naming a model does not load diffusers.
"""
