"""History of every event (sent or suppressed), uptime from transitions, reports (docs/history.md)."""
