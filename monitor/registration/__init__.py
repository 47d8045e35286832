"""The contact and registration page (issue 15): a phone-first form on its own listener, meant for
the hotspot walled garden; numbers verified by a one-time code over WhatsApp (docs/subscribers.md)."""
