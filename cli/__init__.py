"""Command-line tools: the demo (and, later, approvals)."""
