"""Verkehrszählungen / traffic counts."""
