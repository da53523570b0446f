"""cinegen's version, for files and answers that say what made them (pyproject.toml's)."""

__version__ = "0.1.0"
