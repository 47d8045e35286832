"""WhatsApp notifier (``type: whatsapp``) over a form gateway, WAHA, Fonnte or the Meta Cloud API.

``to`` lists numbers (any way operators write them), group ids (``…@g.us``) and/or the word
``subscriber`` (the event's ``data.subscriber.phone``). ``recipients(event)`` returns them
normalised (``62857…`` / ``…@g.us``); the outbox sends, retries and rate-limits per recipient.
"""

from __future__ import annotations

from typing import Any

import jinja2

from monitor.delivery.notify import BaseNotifier, NotifierContext
from monitor.delivery.phone import is_group_id, mask_phones, normalize_msisdn
from monitor.delivery.templates.renderer import TemplateRenderer
from monitor.errors import NotifyError
from monitor.events import Event
from monitor.redaction import scrub

from .cloud_status import CloudSentStore, CloudStatusWebhook
from .config import SUBSCRIBER, WhatsAppConfig
from .providers import PROVIDERS, CloudProvider, Provider

__all__ = ["NOTIFIER", "WhatsAppConfig", "WhatsAppNotifier"]

class WhatsAppNotifier(BaseNotifier):
    Config = WhatsAppConfig
    config: WhatsAppConfig

    def __init__(self, config: WhatsAppConfig, context: NotifierContext):
        super().__init__(config, context)
        self.renderer = TemplateRenderer.from_config(
            config, markup="text", base_dir=context.config_dir)
        self.provider: Provider = PROVIDERS[config.provider](config, self)
        self.last_response: dict[str, Any] | None = None
        self._params: dict[str, Any] = {}
        self._cloud_sent: CloudSentStore | None = None
        self.status_webhook: CloudStatusWebhook | None = None

    # -- capabilities read by the engine and the outbox -------------------------------------------

    def validate(self, path_prefix: str = "") -> None:
        """Raise ConfigError naming ``{path_prefix}.templates.<key>`` for a broken template."""
        self.renderer.validate(path_prefix)

    def recipients(self, event: Event) -> list[str | None]:
        """Normalised recipients for this event; ``subscriber`` only when the event knows a phone."""
        out: list[str | None] = []
        for entry in self.config.to:
            if entry.strip().lower() == SUBSCRIBER:
                subscriber = event.data.get("subscriber")
                phone = subscriber.get("phone") if isinstance(subscriber, dict) else None
                number = normalize_msisdn(phone, self.config.country_code) if phone else None
                if number is None:
                    self.log.debug("whatsapp.no_subscriber_phone", event_type=event.type,
                                   user=event.data.get("user") or event.data.get("name"))
                    continue
            elif is_group_id(entry):
                number = entry.strip()
            else:
                number = normalize_msisdn(entry, self.config.country_code)
            if number and number not in out:
                out.append(number)
        return out

    def rate_limit(self, recipient: str | None = None) -> list[tuple[int, float]]:
        """Unofficial gateways: 1 message / 5 s per number (ban risk); Cloud API: bursts of 10 / 6 s."""
        return [(10, 6.0)] if self.config.provider == "cloud" else [(1, 5.0)]

    async def send(self, event: Event, recipient: str | None = None) -> None:
        """Send one event to ``recipient`` (or, when None, to every recipient in turn)."""
        text = self._render(lambda: self.renderer.render(event), event.type)
        for target in self._targets(recipient, self.recipients(event)):
            await self._deliver(target, text, [event])

    async def send_digest(self, events: list[Event], recipient: str | None = None) -> None:
        text = self._render(lambda: self.renderer.render_digest(events), "digest")
        fallback: list[str | None] = []
        for event in events:
            fallback += [r for r in self.recipients(event) if r not in fallback]
        for target in self._targets(recipient, fallback):
            await self._deliver(target, text, events)

    def render_param(self, source: str, context: dict[str, Any]) -> str:
        """One Cloud template parameter: a Jinja string over the event's template context."""
        try:
            compiled = self._params.get(source)
            if compiled is None:
                compiled = self._params[source] = self.renderer.env.from_string(source)
            return compiled.render(context)
        except jinja2.TemplateError as exc:
            self.log.error("notify.template_failed", template="template_params", error=str(exc))
            raise NotifyError(f"template_params {source!r} failed: {exc}", retryable=False) from None

    @property
    def cloud_sent(self) -> CloudSentStore:
        """Where Cloud message ids are recorded (the state database; in memory without one)."""
        if self._cloud_sent is None:
            state = getattr(self.context.settings, "state", None)
            self._cloud_sent = CloudSentStore(getattr(state, "path", None) or ":memory:")
        return self._cloud_sent

    def web_routes(self, outbox: Any) -> list[Any]:
        """The Cloud status webhook's routes (when ``app_secret`` is set), for pantau's HTTP server."""
        if self.config.provider != "cloud" or self.config.app_secret is None:
            return []
        verify = self.config.verify_token.get_secret_value() if self.config.verify_token else None
        hook = CloudStatusWebhook(notifier=self.name, path=self.config.status_path or f"/whatsapp/{self.name}/status",
                                  app_secret=self.config.app_secret.get_secret_value(), verify_token=verify,
                                  store=self.cloud_sent, outbox=outbox, has_template=bool(self.config.template))
        self.status_webhook = hook
        return hook.routes()

    async def aclose(self) -> None:
        if self._cloud_sent is not None:
            self._cloud_sent.close()
            self._cloud_sent = None

    def scrub(self, text: str) -> str:
        """Remove configured secrets from a peer's text before it reaches a message or log, and mask
        the phone numbers in it (gateways name the target in their errors)."""
        text = scrub(text, [s.get_secret_value() for s in (self.config.token, self.config.api_key, self.config.url,
                                                           self.config.app_secret, self.config.verify_token,
                                                           *self.config.headers.values()) if s is not None])
        return mask_phones(text, self.config.country_code)

    # -- internals --------------------------------------------------------------------------------

    def _targets(self, recipient: str | None, default: list[str | None]) -> list[str]:
        if recipient is None:
            return [r for r in default if r]
        if is_group_id(recipient):
            return [recipient]
        number = normalize_msisdn(recipient, self.config.country_code)
        if number is None:
            raise NotifyError(f"WhatsApp: {recipient!r} is not a phone number or group id", retryable=False)
        return [number]

    async def _deliver(self, recipient: str, text: str, events: list[Event]) -> None:
        if isinstance(self.provider, CloudProvider):
            # A text send of this message that Meta later reported failed: now the template.
            as_template = any(self.cloud_sent.text_failed(self.name, e.id, recipient) for e in events)
            context = self._render(lambda: self.renderer.context(events[0]), "template_params")
            context["count"] = len(events)
            result = await self.provider.send(recipient, text, context=context, as_template=as_template)
            for event in events:
                if result.get("id"):
                    self.cloud_sent.record(result["id"], notifier=self.name, event_id=event.id,
                                           recipient=recipient, via=result.get("via", "text"))
        else:
            result = await self.provider.send(recipient, text)
        self.last_response = {**result, "to": self.provider.address(recipient)}
        self.log.debug("notify.sent", provider=self.config.provider, recipient=recipient, id=result.get("id"))

    def _render(self, fn: Any, what: str) -> str:
        try:
            return fn()
        except (jinja2.TemplateError, OSError) as exc:
            self.log.error("notify.template_failed", template=what, error=str(exc))
            raise NotifyError(f"template for {what} failed: {exc}", retryable=False) from None


NOTIFIER = WhatsAppNotifier
