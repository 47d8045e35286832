"""The four WhatsApp gateways pantau speaks: a form gateway (the seeds'), WAHA, Fonnte, Meta Cloud.

Each provider turns (recipient, text) into one HTTP request and the reply into a short dict, or a
NotifyError whose message quotes the provider's own error text. Retry, order and rate belong to the
outbox; providers only decide whether an error is worth retrying.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin

from monitor.delivery.peer_http import Reply, request, snippet
from monitor.delivery.phone import is_group_id, mask_recipient
from monitor.errors import NotifyError

from .cloud_params import template_parameters
from .config import WhatsAppConfig

if TYPE_CHECKING:  # the HTTP client is imported when a request is made (peer_http.request)
    import aiohttp


class ProviderHost(Protocol):
    """What a provider uses of the notifier that owns it: its HTTP session, scrubbing and logger."""

    last_response: dict[str, Any] | None

    @property
    def http(self) -> aiohttp.ClientSession: ...

    @property
    def log(self) -> Any: ...

    def scrub(self, text: str) -> str: ...

    def render_param(self, source: str, context: dict[str, Any]) -> str: ...

# Words in a gateway's refusal that mean "trying again later can help" / "it never will".
_PERMANENT_WORDS = ("token", "target", "invalid", "not valid", "not registered", "unauthori", "not found",
                    "not exist", "forbidden", "api key", "apikey")
_TRANSIENT_WORDS = ("quota", "queue", "rate", "limit", "disconnect", "busy", "try again", "timeout",
                    "later", "server", "not ready", "starting")
# Graph API codes worth retrying: throttling, temporary service errors.
_CLOUD_RETRYABLE = {1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131048, 131056, 133004}
REENGAGEMENT = 131047


def retryable_reason(reason: str) -> bool:
    """Classify a gateway's free-text refusal: token/target errors are permanent, quota/queue/rate
    errors (and anything unknown) are transient."""
    text = reason.lower()
    if any(word in text for word in _TRANSIENT_WORDS) and not any(w in text for w in ("token", "target")):
        return True
    return not any(word in text for word in _PERMANENT_WORDS)


class Provider:
    name = "WhatsApp gateway"

    def __init__(self, config: WhatsAppConfig, notifier: ProviderHost):
        self.config = config
        self.notifier = notifier

    def address(self, recipient: str) -> str:
        """The recipient as this provider wants it (canonical form: ``62857…`` or ``…@g.us``)."""
        return recipient

    async def send(self, recipient: str, text: str) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _headers(self, **own: str) -> dict[str, str]:
        """Configured extra headers (e.g. a fork's ``Authorization``), then the provider's own."""
        return {**{k: v.get_secret_value() for k, v in self.config.headers.items()}, **own}

    async def _post(self, url: str, **kwargs: Any) -> Reply:
        return await request(self.notifier.http, url, timeout=self.config.timeout, what=self.name, **kwargs)

    def _fail(self, text: str, *, retryable: bool, status: int | None = None,
              retry_after: float | None = None, log: bool = True) -> NotifyError:
        text = self.notifier.scrub(text)
        self.notifier.last_response = {"ok": False, "error": text, "status": status}
        if log and not retryable:
            self.notifier.log.warning("whatsapp.rejected", provider=self.config.provider, status=status,
                                      error=text)
        return NotifyError(f"{self.name}: {text}", retryable=retryable, status=status,
                           retry_after=retry_after)

    def _http_error(self, reply: Reply, text: str) -> NotifyError:
        retryable = reply.status >= 500 or reply.status in (408, 425, 429)
        return self._fail(f"HTTP {reply.status}: {text}", retryable=retryable, status=reply.status,
                          retry_after=reply.retry_after)


def _error_text(reply: Reply, *keys: str) -> str:
    data = reply.data if isinstance(reply.data, dict) else {}
    for key in keys:
        value = data.get(key)
        if value:
            return snippet(value if isinstance(value, str) else str(value))
    return snippet(reply.text) or "no reply body"


class FormProvider(Provider):
    """``POST {url}`` with ``number`` and ``message`` (form-encoded, or JSON with ``json: true``);
    group ids (``…@g.us``) go to the group endpoint (``send-group-message``) as ``id``; success
    only when the reply says ``status: true``."""

    name = "WhatsApp form gateway"

    def group_url(self) -> str:
        """The group endpoint: ``group_path`` resolved against ``url`` (``send-group-message``
        next to ``…/send-message``; ``/x`` from the host's root; or a full URL)."""
        return urljoin(self.config.url_text, self.config.group_path)

    async def send(self, recipient: str, text: str) -> dict[str, Any]:
        if is_group_id(recipient):
            url, fields = self.group_url(), {self.config.group_field: recipient}
        else:
            url, fields = self.config.url_text, {self.config.number_field: self.address(recipient)}
        fields[self.config.message_field] = text
        body = {"json": fields} if self.config.json_body else {"data": fields}
        reply = await self._post(url, headers=self._headers(), **body)
        data = reply.data if isinstance(reply.data, dict) else None
        if 200 <= reply.status < 300 and data is not None and data.get("status") is True:
            return {"ok": True, "status": True, "reply": self.notifier.scrub(snippet(reply.text, 200))}
        reason = _error_text(reply, "message", "reason", "error", "response")
        if 200 <= reply.status < 300:
            if data is None or "status" not in data:
                # It may or may not have been sent: retrying could send it twice.
                raise self._fail(f"reply does not say status: true: {reason}", retryable=False,
                                 status=reply.status)
            raise self._fail(reason, retryable=retryable_reason(reason), status=reply.status)
        raise self._http_error(reply, reason)


class WahaProvider(Provider):
    """WAHA: ``POST {url}/api/sendText`` JSON ``{session, chatId, text}``, header ``X-Api-Key``;
    sent only when the reply carries the message's ``id`` and no ``error``/``exception``."""

    name = "WAHA"

    def address(self, recipient: str) -> str:
        return recipient if recipient.endswith("@g.us") else f"{recipient}@c.us"

    async def send(self, recipient: str, text: str) -> dict[str, Any]:
        headers = self._headers()
        if self.config.api_key is not None:
            headers["X-Api-Key"] = self.config.api_key.get_secret_value()
        payload = {"session": self.config.session, "chatId": self.address(recipient), "text": text}
        reply = await self._post(f"{self.config.url_text}/api/sendText", json=payload, headers=headers)
        data = reply.data if isinstance(reply.data, dict) else {}
        message_id = data.get("id")
        if isinstance(message_id, dict):
            message_id = message_id.get("_serialized") or message_id.get("id")
        refused = any(data.get(key) for key in ("error", "exception")) or data.get("status") is False
        if 200 <= reply.status < 300 and message_id and not refused:
            return {"ok": True, "id": message_id}
        reason = _error_text(reply, "message", "error", "exception")
        if 200 <= reply.status < 300:
            # WAHA (and proxies in front of it) sometimes answer 2xx with an error body: not sent.
            if not refused:
                # No message id and no error: it may or may not have gone out; retrying could
                # send it twice, so the operator decides.
                raise self._fail(f"reply has no message id: {reason}", retryable=False, status=reply.status)
            raise self._fail(reason, retryable=retryable_reason(reason), status=reply.status)
        if reply.status in (401, 403):
            raise self._fail(f"HTTP {reply.status}: {reason} (check api_key)", retryable=False,
                             status=reply.status)
        if reply.status == 422 and "session" in reason.lower():
            # The session is starting or waiting for a QR scan: fine once the operator fixes it.
            raise self._fail(f"HTTP 422: {reason}", retryable=True, status=422)
        raise self._http_error(reply, reason)


class FonnteProvider(Provider):
    """Fonnte: ``POST {url}/send``, header ``Authorization: TOKEN``, form ``target`` + ``message``.
    Fonnte answers HTTP 200 with ``status: false`` and a ``reason`` when it refuses."""

    name = "Fonnte"

    async def send(self, recipient: str, text: str) -> dict[str, Any]:
        token = self.config.token.get_secret_value() if self.config.token else ""
        reply = await self._post(f"{self.config.url_text}/send", headers=self._headers(Authorization=token),
                                 data={"target": self.address(recipient), "message": text})
        data = reply.data if isinstance(reply.data, dict) else {}
        if 200 <= reply.status < 300 and data.get("status") is True:
            return {"ok": True, "id": data.get("id"), "detail": data.get("detail"),
                    "process": data.get("process")}
        reason = self.notifier.scrub(_error_text(reply, "reason", "detail", "message"))
        if 200 <= reply.status < 300:
            retryable = retryable_reason(reason)
            self.notifier.log.warning("whatsapp.fonnte_refused", reason=reason, retryable=retryable)
            raise self._fail(reason, retryable=retryable, status=reply.status, log=False)
        raise self._http_error(reply, reason)


class CloudProvider(Provider):
    """Meta WhatsApp Cloud API: ``POST {url}/{phone_number_id}/messages`` with a Bearer token.

    ``mode: text`` sends text; ``mode: template`` always the approved template; ``mode: auto``
    sends text and, when the reply says 131047 and a template is configured, the template. A 200
    only means "accepted": a later failure arrives on the status webhook (cloud_status.py), after
    which ``send(..., as_template=True)`` is how the outbox's retry goes out.
    """

    name = "WhatsApp Cloud API"

    async def send(self, recipient: str, text: str, *, context: dict[str, Any] | None = None,
                   as_template: bool = False) -> dict[str, Any]:
        if self.config.mode == "template" or (as_template and self.config.template):
            reply = await self._call(self._template_payload(recipient, text, context))
            error = self._graph_error(reply)
            if error is None:
                return self._ok(reply, via="template")
            raise self._cloud_error(reply, error)
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient,
                   "type": "text", "text": {"preview_url": False, "body": text}}
        reply = await self._call(payload)
        error = self._graph_error(reply)
        if error is None:
            return self._ok(reply, via="text")
        if error.get("code") == REENGAGEMENT and self.config.template and self.config.mode == "auto":
            self.notifier.log.info("whatsapp.cloud_template_fallback", recipient=mask_recipient(recipient),
                                   template=self.config.template)
            reply = await self._call(self._template_payload(recipient, text, context))
            error = self._graph_error(reply)
            if error is None:
                return self._ok(reply, via="template")
        raise self._cloud_error(reply, error)

    async def _call(self, payload: dict[str, Any]) -> Reply:
        token = self.config.token.get_secret_value() if self.config.token else ""
        return await self._post(f"{self.config.url_text}/{self.config.phone_number_id}/messages", json=payload,
                                headers={"Authorization": f"Bearer {token}"})

    def _template_payload(self, recipient: str, text: str, context: dict[str, Any] | None) -> dict[str, Any]:
        template: dict[str, Any] = {"name": self.config.template,
                                    "language": {"code": self.config.template_language}}
        params = self.config.template_params
        if params is not None or self.config.template_with_text:
            render = self.notifier.render_param
            template["components"] = [{"type": "body", "parameters": template_parameters(
                params, render, text, context or {})}]
        return {"messaging_product": "whatsapp", "to": recipient, "type": "template", "template": template}

    @staticmethod
    def _graph_error(reply: Reply) -> dict[str, Any] | None:
        data = reply.data if isinstance(reply.data, dict) else {}
        if 200 <= reply.status < 300 and data.get("messages"):
            return None
        error = data.get("error")
        return error if isinstance(error, dict) else {}

    def _ok(self, reply: Reply, *, via: str) -> dict[str, Any]:
        messages = reply.data.get("messages") or [{}]
        return {"ok": True, "id": messages[0].get("id"), "via": via}

    def _cloud_error(self, reply: Reply, error: dict[str, Any] | None) -> NotifyError:
        if not error:
            return self._http_error(reply, snippet(reply.text) or "no reply body") if reply.status >= 300 \
                else self._fail(f"unexpected reply: {snippet(reply.text)}", retryable=True, status=reply.status)
        code = error.get("code")
        details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
        text = f"{error.get('message') or 'error'} (code {code})" + (f": {details}" if details else "")
        if code == REENGAGEMENT:
            text += " — outside the 24-hour window; configure a message template to reach this number"
        retryable = code in _CLOUD_RETRYABLE or reply.status >= 500 or reply.status == 429
        return self._fail(text, retryable=retryable, status=reply.status, retry_after=reply.retry_after)


PROVIDERS: dict[str, type[Provider]] = {"form": FormProvider, "waha": WahaProvider,
                                        "fonnte": FonnteProvider, "cloud": CloudProvider}
