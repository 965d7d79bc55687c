"""redline: policy versioning and change notification for legal documents kept in git."""

__version__ = "0.1.0"
