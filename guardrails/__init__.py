"""Guardrails: personal-data detection and redaction, prompt-injection screening."""
