"""Phone numbers (MSISDN) as operators write them, normalised for WhatsApp gateways.

Operators write ``0857-1234-5678``, ``+62 857 1234 5678``, ``62857…`` or paste a number into a
RouterOS comment (``Budi, WA 0857 1234 5678, blok C``). Every gateway wants digits with the country
code and no ``+``: ``6285712345678``. WAHA additionally wants ``@c.us`` (done by the notifier).
"""

from __future__ import annotations

import re

__all__ = ["find_phone", "is_group_id", "mask_phones", "mask_recipient", "normalize_msisdn"]

_SEPARATORS = re.compile(r"[\s.\-()/]")
_WA_SUFFIX = re.compile(r"@(c\.us|s\.whatsapp\.net)$", re.IGNORECASE)
# A run of digits with the separators people type inside numbers; optional + or 00 in front.
_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\d(?:[\d.\-()]|\s(?=\d))*\d(?![\w])")
_GROUP_ID = re.compile(r"^[\d-]+@g\.us$")


def normalize_msisdn(text: str | None, country_code: str = "62") -> str | None:
    """``0857…``, ``+62857…``, ``0062857…``, ``62857…`` (and ``857…`` for Indonesia) → ``62857…``.

    Returns digits only (country code first, no ``+``), or None when ``text`` is not a plausible
    phone number (E.164 allows at most 15 digits; fewer than 9 is not a mobile number).
    """
    if text is None:
        return None
    value = _WA_SUFFIX.sub("", str(text).strip())
    value = _SEPARATORS.sub("", value)
    if not value:
        return None
    if value.startswith("+"):
        digits = value[1:]
    elif value.startswith("00"):
        digits = value[2:]
    elif value.startswith("0"):
        digits = country_code + value[1:]
    elif value.startswith(country_code):
        digits = value
    elif country_code == "62" and value.startswith("8"):
        digits = country_code + value  # Indonesian mobile numbers written without the leading 0
    else:
        return None
    if not digits.isdigit() or digits.startswith("0") or not 9 <= len(digits) <= 15:
        return None
    return digits


def find_phone(text: str | None, country_code: str = "62") -> str | None:
    """The first plausible phone number in free text (a RouterOS comment), normalised; else None.

    IP addresses, MAC addresses and dates do not count: they do not normalise to a phone number.
    """
    if not text:
        return None
    for match in _CANDIDATE.finditer(str(text)):
        candidate = match.group(0)
        if _looks_like_ip(candidate):
            continue
        number = normalize_msisdn(candidate, country_code)
        if number is not None:
            return number
    return None


def is_group_id(text: str) -> bool:
    """A WhatsApp group id as gateways show it: ``120363025246125486@g.us``."""
    return bool(_GROUP_ID.match(text.strip()))


def _looks_like_ip(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 for p in parts)


_PHONE_RE = re.compile(r"^(\+?)(\d{8,})(@[\w.]+)?$")


def mask_recipient(recipient: str | None) -> str | None:
    """Phone numbers (and WhatsApp ids made of them) are shown as ``62857*****678`` in logs;
    anything else (Telegram chat ids, ``@channel``, ``None``) is shown as is. Not a secret, but
    logs travel further than the config."""
    if recipient is None:
        return None
    m = _PHONE_RE.match(recipient)
    if not m:
        return recipient
    digits = m.group(2)
    return f"{m.group(1)}{digits[:5]}{'*' * (len(digits) - 8)}{digits[-3:]}{m.group(3) or ''}"


def mask_phones(text: str, country_code: str = "62") -> str:
    """Every phone number in free text — ``0857-1234-5678``, ``+62 857 1234 5678``, ``628…@c.us``
    — shown masked (``62857*****678``): for what a peer writes back (a gateway's error naming the
    target) before it reaches a log line. IP addresses, dates and other digit runs stay as they are."""
    if not text:
        return text

    def one(candidate: str) -> str | None:
        if candidate[:1] not in ("+", "0") and not candidate.startswith(country_code):
            return None  # a bare "857…" in free text is more likely an id than a number
        number = None if _looks_like_ip(candidate) else normalize_msisdn(candidate, country_code)
        return None if number is None else mask_recipient(number)

    def masked(match: re.Match[str]) -> str:
        candidate = match.group(0)
        whole = one(candidate)
        if whole is not None:
            return whole
        # a number beside other digits ("HTTP 400 0857 1234 5678"): the longest run of the
        # space-separated pieces that is a number, from the left
        pieces, out, i = candidate.split(" "), [], 0
        while i < len(pieces):
            for j in range(len(pieces), i, -1):
                found = one(" ".join(pieces[i:j]))
                if found is not None:
                    out.append(found)
                    i = j
                    break
            else:
                out.append(pieces[i])
                i += 1
        return " ".join(out)

    return _CANDIDATE.sub(masked, str(text))
