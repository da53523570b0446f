"""Frames -> files: H.264 MP4, stills, the visible watermark, atomic writes."""
