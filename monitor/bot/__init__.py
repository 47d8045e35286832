"""The operator bot: one command core (parse → authorize → execute on RouterOS → render) behind
Telegram, WhatsApp and ``pantau ctl``. See docs/bot.md."""
