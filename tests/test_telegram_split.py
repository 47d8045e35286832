"""Telegram split: every part is valid HTML on its own (tags balanced, no entity cut) and ≤ the
limit, and the parts together carry the same text with the same formatting as the message."""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser

import pytest

from monitor.delivery.notify import NotifierContext
from monitor.delivery.templates.renderer import sample_events
from notifiers.telegram import TelegramConfig, TelegramNotifier
from notifiers.telegram_split import MAX_LENGTH, split_message, units


class StrictTelegramHTML(HTMLParser):
    """Parses one part; raises on what Telegram rejects (unbalanced/unknown tags), and records each
    visible character with the tags it sits in."""

    ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "a", "code",
               "pre", "blockquote", "span"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple]] = []
        self.chars: list[tuple[str, tuple]] = []

    def handle_starttag(self, tag, attrs):
        assert tag in self.ALLOWED, f"unsupported tag <{tag}>"
        self.stack.append((tag, tuple(attrs)))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1][0] == tag, f"</{tag}> does not close {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        context = tuple(self.stack)
        self.chars.extend((ch, context) for ch in data)

    @classmethod
    def check(cls, text: str) -> list[tuple[str, tuple]]:
        parser = cls()
        parser.feed(text)
        parser.close()
        assert not parser.stack, f"unclosed tags at the end: {parser.stack}"
        raw = re.sub(r"<[^<>]*>", "", text)
        assert "<" not in raw and ">" not in raw, "a tag was cut"
        assert all(re.match(r"&(#\d+|#x[0-9a-fA-F]+|[a-z]+);", raw[m.start():]) for m in re.finditer("&", raw)), \
            "an entity was cut"
        return parser.chars


def assert_valid_split(text: str, limit: int) -> list[str]:
    parts = split_message(text, limit)
    whole = [c for c in StrictTelegramHTML.check(text) if not c[0].isspace()]
    joined: list = []
    for part in parts:
        assert units(part) <= limit, (units(part), limit)
        chars = StrictTelegramHTML.check(part)
        assert "".join(c for c, _ in chars).strip(), "an empty part"
        joined += [c for c in chars if not c[0].isspace()]
    # Same visible characters, each with the same formatting (tags and attributes) as before.
    assert joined == whole
    return parts


def test_long_pre_is_closed_and_reopened():
    """A multi-line <pre><code class=…> over the limit: every part closes and reopens it."""
    lines = "\n".join(f"{i:04d} ping 10.0.0.{i % 250} timeout &lt;5s&gt;" for i in range(400))
    text = f'<b>Log</b>\n<pre><code class="language-text">{lines}</code></pre>\nselesai'
    parts = assert_valid_split(text, MAX_LENGTH)
    assert len(parts) >= 3
    assert all(p.startswith('<pre><code class="language-text">') for p in parts[1:])
    assert all(p.rstrip("\n").endswith("</code></pre>") for p in parts[:-1])


def test_long_blockquote_and_formatted_values():
    """An expandable blockquote with bold/italic/link values longer than a part."""
    rows = "\n".join(f'<b>{i}</b> <i>pelanggan-{i} &amp; co</i> <a href="https://x.test/{i}">log</a>'
                     for i in range(300))
    text = f"<blockquote expandable>{rows}</blockquote>"
    parts = assert_valid_split(text, MAX_LENGTH)
    assert len(parts) >= 2 and all(p.startswith("<blockquote expandable>") for p in parts)


def test_a_single_bold_value_longer_than_the_limit():
    """One <b> value with no newline, longer than a part, is cut mid-value and stays bold."""
    text = "Nama: <b>" + ("Budi &amp; Sari " * 600) + "</b> selesai"
    parts = assert_valid_split(text, 1000)
    assert all(p.count("<b>") == p.count("</b>") == 1 for p in parts[:-1])


def test_short_message_untouched():
    assert split_message("<b>x</b>\ny") == ["<b>x</b>\ny"]


_TAGS = ["b", "i", "u", "s", "tg-spoiler", "code", "pre", "blockquote", 'a href="https://e.test/?q=1&amp;r=2"',
         'pre><code class="language-python"', "blockquote expandable"]
_WORDS = ["ping", "Budi", "&amp;", "&lt;", "&gt;", "&quot;", "🙂", "数据", "DOWN", " ", "  ", "\n", "\n\n",
          "x" * 50, "192.168.88.1", "a" * 120]


def _random_html(rng: random.Random, depth: int = 0) -> str:
    out = []
    for _ in range(rng.randint(1, 12)):
        if depth < 4 and rng.random() < 0.3:
            tag = rng.choice(_TAGS)
            names = [t.split()[0].split(">")[0] for t in tag.split("><")]
            inner = _random_html(rng, depth + 1)
            out.append(f"<{tag}>{inner}" + "".join(f"</{n}>" for n in reversed(names)))
        else:
            out.append(rng.choice(_WORDS) * rng.randint(1, 6))
    return "".join(out)


@pytest.mark.parametrize("seed", range(40))
def test_split_fuzz(seed):
    """Random nested templates at random limits: every part valid HTML (strict parser), ≤ limit,
    and nothing of the text or its formatting lost."""
    rng = random.Random(seed)
    text, target = "", rng.randint(300, 20000)
    while len(text) < target:
        text += _random_html(rng)
    if not text.strip() or not [c for c, _ in StrictTelegramHTML.check(text) if not c.isspace()]:
        text += "<b>x</b>"
    limit = rng.choice([300, 700, 1500, 4096])
    assert_valid_split(text, limit)


async def test_notifier_sends_every_part_valid(http=None):
    """End to end with a rendered template: a long <pre> through the notifier's own renderer."""
    template = "<b>{{ data.name }}</b>\n<pre>{% for i in range(900) %}{{ i }} {{ data.address }} &amp;\n{% endfor %}</pre>"
    notifier = TelegramNotifier(TelegramConfig(name="t", type="telegram", token="1:x", chat_id=1,
                                               templates={"host.down": template}),
                                NotifierContext(http=None))  # type: ignore[arg-type]
    text = notifier.renderer.render(next(e for e in sample_events() if e.type == "host.down"))
    assert units(text) > MAX_LENGTH
    parts = assert_valid_split(text, MAX_LENGTH)
    assert all(p.startswith("<pre>") for p in parts[1:])
