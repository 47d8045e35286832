"""The real ``pantau run`` with a bot, against a fake Telegram Bot API and the RouterOS simulator:
replies, refusal, the persisted update offset and confirmations across kill -9, 409 Conflict."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import yaml

from monitor.bot.store import BotStore
from tests.bot_helpers import ADMIN, MANAGE_PW, OPERATOR, READ_PW, STRANGER, make_sim
from tests.fake_telegram_bot import FakeBotApi
from tests.routeros_helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent
GROUP, ADMIN2 = -100500, 1004


def write_config(tmp_path: Path, port: int, api: FakeBotApi) -> Path:
    cfg = {"state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None, "log": {"format": "json"},
           "routers": [{"name": "core", "address": "127.0.0.1", "port": port, "username": "pantau",
                        "password": READ_PW, "timeout": 2, "mode": "poll", "poll_interval": 1,
                        "manage": {"username": "pantau-manage", "password": MANAGE_PW}}],
           "bot": {"telegram_users": {ADMIN: "admin", ADMIN2: "admin", OPERATOR: "operator"},
                   "telegram": {"token": api.token, "api_url": api.url, "poll_timeout": 2}}}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class Pantau:
    def __init__(self, config: Path, log: Path):
        self.config, self.log = config, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = self.log.open("ab")  # noqa: ASYNC230 - a local file, opened once per process start
        self.proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "monitor", "run", "-c",
                                                         str(self.config), env=env, stdout=out, stderr=out)
        out.close()

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                await self.kill9()

    def logged(self, text: str) -> bool:
        return self.log.exists() and text in self.log.read_text(errors="replace")


def replies(api: FakeBotApi, fragment: str, method: str = "sendMessage") -> list[dict]:
    return [p for p in api.sent(method) if fragment in p.get("text", "")]


async def test_commands_refusal_and_offset_survive_kill9(tmp_path):
    async with make_sim() as sim, FakeBotApi() as api:
        sim.hotspot_login("budi", "10.5.50.2", "AA:00:00:00:00:01")
        pantau = Pantau(write_config(tmp_path, sim.port, api), tmp_path / "pantau.log")
        await pantau.start()
        try:
            await api.wait_for(lambda: len(api.sent("setMyCommands")) >= 3)
            langs = {p.get("language_code") for p in api.sent("setMyCommands")}
            assert langs == {None, "id", "en"}
            menu_id = next(p for p in api.sent("setMyCommands") if p.get("language_code") == "id")
            assert {"command": "dhcp", "description": "sewa DHCP"} in menu_id["commands"]

            status_update = await api.message(ADMIN, "/Status")
            await api.wait_for(lambda: replies(api, "Hotspot aktif: 1"))
            reply = replies(api, "Hotspot aktif: 1")[0]
            assert reply["parse_mode"] == "HTML" and reply["chat_id"] == ADMIN and "<b>Status core</b>" in reply["text"]

            await api.message(STRANGER, "/status")
            await api.wait_for(lambda: replies(api, "tidak terdaftar"))
            assert pantau.logged('"event": "bot.refused"') and pantau.logged('"identity": "tg:9999"')

            await pantau.kill9()
            seen = len(api.offsets)
            await pantau.start()
            await api.wait_for(lambda: len(api.offsets) > seen)
            assert api.offsets[seen] is not None and api.offsets[seen] > status_update  # acknowledged before kill
            await api.message(ADMIN, "/resource")
            await api.wait_for(lambda: replies(api, "Versi: 7.18.2"))
            assert len(replies(api, "Hotspot aktif: 1")) == 1  # /status was not executed again
        finally:
            await pantau.stop()


async def test_confirmation_survives_kill9_and_runs_once_for_two_admins(tmp_path):
    async with make_sim() as sim, FakeBotApi() as api:
        sim.add_hotspot_user("budi")
        sim.hotspot_login("budi", "10.5.50.2", "AA:00:00:00:00:01")
        config = write_config(tmp_path, sim.port, api)
        data = yaml.safe_load(config.read_text())
        data["bot"]["telegram_groups"] = {GROUP: "viewer"}
        config.write_text(yaml.safe_dump(data))
        pantau = Pantau(config, tmp_path / "pantau.log")
        await pantau.start()
        try:
            await api.message(ADMIN, "/hotspot disable budi", chat=GROUP)
            prompt = (await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p]))[0]
            buttons = prompt["reply_markup"]["inline_keyboard"][0]
            assert [b["text"] for b in buttons] == ["Ya", "Batal"]
            yes = buttons[0]["callback_data"]
            # the viewer group's other members cannot confirm
            await api.press(STRANGER, yes, prompt["_message_id"], chat=GROUP)
            await api.wait_for(lambda: replies(api, "butuh peran"))
            await pantau.kill9()  # between the request and its confirmation
            assert sim.menus["/ip/hotspot/user"].rows()[0]["disabled"] == "false"
            await pantau.start()
            await api.press(ADMIN, yes, prompt["_message_id"], chat=GROUP)
            await api.press(ADMIN2, yes, prompt["_message_id"], chat=GROUP)  # a second admin, same button
            done = await api.wait_for(lambda: replies(api, "sesi aktif diputus", "editMessageText"))
            assert done[0]["message_id"] == prompt["_message_id"]  # the prompt became the result
            await api.wait_for(lambda: replies(api, "sudah dijalankan"))
            assert len(api.sent("answerCallbackQuery")) == 3
            assert sim.menus["/ip/hotspot/user"].rows()[0]["disabled"] == "true"
            assert sim.active() == []  # disable kicked the session
        finally:
            await pantau.stop()
        store = BotStore(tmp_path / "state.db")
        rows = store.audit_rows()
        store.close()
        assert [(r.identity, r.result) for r in rows if r.command == "hotspot.disable"] == \
            [("tg:1001", "pending"), ("tg:1001", "ok")]


async def test_409_conflict_is_reported_clearly(tmp_path):
    async with make_sim() as sim, FakeBotApi() as api:
        api.conflict = True
        pantau = Pantau(write_config(tmp_path, sim.port, api), tmp_path / "pantau.log")
        await pantau.start()
        try:
            await wait_until(lambda: pantau.logged("bot.telegram.conflict"), timeout=20, step=0.1)
            assert pantau.logged("only one getUpdates consumer per token")
            assert not pantau.logged(api.token)  # the token never reaches a log line
            api.conflict = False
            await api.message(ADMIN, "/menu")
            await api.wait_for(lambda: replies(api, "Perintah"))
        finally:
            await pantau.stop()
