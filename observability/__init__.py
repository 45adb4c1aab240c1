"""Observability: structured events, JSON logs, traces and metrics of every run."""
