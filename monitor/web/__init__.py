"""pantau's HTTP side: one aiohttp server (``server``) for health, metrics, the status page and the
inbound webhooks of the bot and the WhatsApp providers; its config in ``config``."""
