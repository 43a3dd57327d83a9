"""Oversight: bias evaluations, reports and system cards."""
