"""arxiv-digest: a daily Korean digest of new AI papers on arXiv."""

__version__ = "0.1.0"
