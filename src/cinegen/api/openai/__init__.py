"""The OpenAI Videos API dialect, as the official ``openai`` SDK's ``client.videos`` calls it.

``videos`` creates, reads, lists, deletes and downloads; ``operations`` makes new videos
from an earlier one (remix, edits, extensions); ``characters`` stores the subjects later
prompts mention as ``@name``. The three share ``videos``' ``router`` prefix (``/v1/videos``)
and its ``Video``.
"""
