"""The Sora web backend's ``video_gen`` dialect, as scripts written for it call it:
``/backend/video_gen``, ``/backend/uploads`` and ``/backend/generations`` (``video_gen``)."""
