"""The watcher's listen loops run under the supervisor: an unexpected exception inside one (here
the first emit raises) is logged as task_crashed and the loop restarts in listen mode — it does
not end silently and leave the menu to polling for the rest of the run."""

from __future__ import annotations

from routeros_helpers import PASSWORD, Recorder, Running, router_config, wait_until
from structlog.testing import capture_logs

from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.watcher import RouterWatcher
from monitor.supervisor import Supervisor

HOTSPOT = "/ip/hotspot/active"


class FailsOnce(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    async def __call__(self, event) -> None:
        if event.type == "hotspot.login" and not self.failed:
            self.failed = True
            raise RuntimeError("a bug downstream")
        await super().__call__(event)


async def test_a_crash_in_a_listen_loop_is_logged_and_listening_resumes():
    emit = FailsOnce()
    supervisor = Supervisor(backoff=0.05)
    async with RouterSimulator(password=PASSWORD) as sim:
        watcher = RouterWatcher(router_config(sim.port, mode="listen", watch=["hotspot"], poll_interval=0.1),
                                emit=emit, supervisor=supervisor)
        with capture_logs() as logs:
            async with Running(watcher):
                await wait_until(lambda: sim.listeners(HOTSPOT) == 1, timeout=5)
                sim.hotspot_login("budi", "10.5.50.9", "AA:BB:CC:00:00:09")
                await emit.wait_for("hotspot.login", timeout=5)  # after the crash, from the resync
                await wait_until(lambda: sim.listeners(HOTSPOT) == 1, timeout=5)
                sim.hotspot_login("ani", "10.5.50.10", "AA:BB:CC:00:00:0A")
                await emit.wait_for("hotspot.login", 2, timeout=5)
                assert sim.listeners(HOTSPOT) == 1
            await supervisor.aclose()
    assert emit.failed and [e.data["user"] for e in emit.of("hotspot.login")] == ["budi", "ani"]
    crashed = [entry for entry in logs if entry["event"] == "task_crashed"]
    assert len(crashed) == 1 and crashed[0]["task"] == f"router:core:listen:{HOTSPOT}"
    assert crashed[0]["error"] == "RuntimeError: a bug downstream"
