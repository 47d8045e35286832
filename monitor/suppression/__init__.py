"""Suppression between the detector and delivery: maintenance windows and dependencies (docs/maintenance.md)."""
