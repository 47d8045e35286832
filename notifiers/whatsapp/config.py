"""The WhatsApp notifier's typed config: provider, gateway URL, recipients and provider options."""

from __future__ import annotations

from typing import Literal

import jinja2
from pydantic import ConfigDict, Field, field_validator, model_validator

from monitor.config.types import HttpUrlSecret, Secret, SecretUrl
from monitor.delivery.phone import is_group_id, normalize_msisdn
from monitor.delivery.templates.renderer import MessageConfig

SUBSCRIBER = "subscriber"
DEFAULT_URLS = {"fonnte": "https://api.fonnte.com", "cloud": "https://graph.facebook.com/v21.0"}


class WhatsAppConfig(MessageConfig):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["whatsapp"]
    provider: Literal["form", "waha", "fonnte", "cloud"]
    # form: the full send URL (gateways often put ?api_key= in it); others: the base URL. Secret:
    # printed as scheme://host:port/… and masked with its userinfo and query values in logs
    url: HttpUrlSecret | None = None
    to: list[str] = Field(min_length=1)
    country_code: str = "62"
    token: Secret | None = None  # fonnte (Authorization) and cloud (Bearer)
    api_key: Secret | None = None  # waha (X-Api-Key)
    session: str = "default"  # waha
    json_body: bool = Field(False, alias="json")  # form: send JSON instead of form fields
    number_field: str = "number"  # form
    message_field: str = "message"  # form
    group_path: str = "send-group-message"  # form: group endpoint, resolved against url
    group_field: str = "id"  # form: the group id's field at the group endpoint
    headers: dict[str, Secret] = {}  # form/waha/fonnte: extra headers, e.g. Authorization
    phone_number_id: str | None = None  # cloud
    template: str | None = None  # cloud: template used outside the 24-hour window
    template_language: str = "id"  # cloud
    template_with_text: bool = True  # cloud: pass the rendered message as the template's {{1}}
    # cloud: auto = text, then the template when the reply says 131047; text = never a template;
    # template = always the template (business-initiated alerts are outside the 24-hour window)
    mode: Literal["auto", "text", "template"] = "auto"
    # cloud: template parameters as Jinja expressions over the event (list = positional, mapping =
    # named); unset = the whole message as {{1}}
    template_params: list[str] | dict[str, str] | None = None
    app_secret: Secret | None = None  # cloud: verifies the status webhook (X-Hub-Signature-256)
    verify_token: Secret | None = None  # cloud: answers Meta's GET hub.challenge handshake
    status_path: str | None = None  # cloud: the status webhook's path (default /whatsapp/<name>/status)

    @field_validator("template_params")
    @classmethod
    def _params_compile(cls, params: list[str] | dict[str, str] | None) -> list[str] | dict[str, str] | None:
        items = params.items() if isinstance(params, dict) else enumerate(params or [])
        for key, source in items:
            try:
                jinja2.Environment().parse(source)
            except jinja2.TemplateSyntaxError as exc:
                raise ValueError(f"[{key}]: syntax error: {exc.message}") from None
        return params

    @property
    def url_text(self) -> str:
        """The URL itself, for the request only (never for a message or log)."""
        return self.url.get_secret_value() if self.url is not None else ""

    @model_validator(mode="after")
    def _check(self) -> WhatsAppConfig:
        if self.url is None:
            if self.provider not in DEFAULT_URLS:
                raise ValueError(f"url is required for provider {self.provider}")
            object.__setattr__(self, "url", SecretUrl(DEFAULT_URLS[self.provider]))
        elif self.provider != "form":
            object.__setattr__(self, "url", SecretUrl(self.url.get_secret_value().rstrip("/")))
        if self.provider in ("fonnte", "cloud") and self.token is None:
            raise ValueError(f"token is required for provider {self.provider}")
        if self.provider == "cloud" and not self.phone_number_id:
            raise ValueError("phone_number_id is required for provider cloud")
        if self.provider == "cloud" and self.mode == "template" and not self.template:
            raise ValueError("mode: template needs template (the approved template's name)")
        if self.status_path is not None and not self.status_path.startswith("/"):
            raise ValueError("status_path must start with /")
        for entry in self.to:
            if entry.strip().lower() == SUBSCRIBER:
                continue
            if is_group_id(entry):
                if self.provider == "cloud":
                    raise ValueError(f"to: {entry!r}: the Cloud API cannot send to groups")
                continue
            if normalize_msisdn(entry, self.country_code) is None:
                raise ValueError(f"to: {entry!r} is not a phone number, a group id (…@g.us) or 'subscriber'")
        return self
