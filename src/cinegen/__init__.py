"""cinegen: self-hosted, open Sora-style video generation."""

__version__ = "0.1.0"
