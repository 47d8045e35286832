"""Hosts watched by ICMP: the probe interface, the one-socket engine (``icmp/``), the pure detector,
the host loop and the persisted host states."""
