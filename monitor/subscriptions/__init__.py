"""Subscriptions: expiry and quota warnings per hotspot user, once per level per period.

``mikhmon`` reads (and writes) the validity Mikhmon keeps in a user's comment; ``levels`` is the
pure core that turns a user's usage into warnings; ``store`` keeps each user's period, the maximum
counters seen and the levels already sent (so a router reboot that resets counters neither repeats
nor hides a warning); ``poller`` reads the router and emits the events.
"""
