"""The status page's access control over real HTTP: logins, cookies, CSRF, headers, no secrets."""

from __future__ import annotations

import io
import subprocess
import sys
from collections import deque
from contextlib import redirect_stderr
from urllib.parse import parse_qs, urlsplit

from web_helpers import PASSWORD, client, form_token, login, running, web_config

from monitor.cli.main import main
from monitor.web.passwords import hash_password, verify_password
from monitor.web.server import SECURITY_HEADERS


def test_hash_password_command_and_verify(root):
    out = subprocess.run([sys.executable, "-m", "monitor", "hash-password"], input="correct horse\n",
                         capture_output=True, text=True, cwd=root, timeout=60)
    assert out.returncode == 0, out.stderr
    stored = out.stdout.strip()
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored) and not verify_password("correct hors", stored)
    short = subprocess.run([sys.executable, "-m", "monitor", "hash-password"], input="short\n",
                           capture_output=True, text=True, cwd=root, timeout=60)
    assert short.returncode == 2 and "8 characters" in short.stderr


def test_bad_http_users_are_config_errors(tmp_path):
    cases = {"users: {admin: hunter2hunter2}": "http.users: user 'admin': not a password hash",
             "users: {'bad user': " + hash_password("x" * 8) + "}": "http.users: invalid user name",
             "users: {admin: 'scrypt$3$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA'}": "parameters out of range",
             "session_ttl: 0s": "http.session_ttl:", "max_loop_lag: soon": "http.max_loop_lag:",
             "users: [admin]": "http.users:"}
    for text, expected in cases.items():
        path = tmp_path / "monitor.yaml"
        path.write_text(f"plugins_dir: null\nhttp: {{listen: '127.0.0.1:0', {text}}}\n")
        err = io.StringIO()
        with redirect_stderr(err):
            assert main(["check", "-c", str(path)]) == 2, text
        assert expected in err.getvalue() and "Traceback" not in err.getvalue(), (text, err.getvalue())
        assert "hunter2" not in err.getvalue()


async def test_login_session_cookie_and_logout(tmp_path):
    async with running(web_config(tmp_path, hosts=2)) as (engine, base), client() as http:
        for path in ("/metrics", "/healthz", "/readyz"):  # open on the bind address
            async with http.get(base + path) as r:
                assert r.status == 200, path
        async with http.get(base + "/status", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/login"
        async with http.get(base + "/status?state=down&page=2", allow_redirects=False) as r:
            location = r.headers["Location"]
            assert parse_qs(urlsplit(location).query) == {"next": ["/status?state=down&page=2"]}
        async with http.get(base + "/login?next=/status%3Fstate%3Ddown%26page%3D2") as r:
            assert 'name="next" value="/status?state=down&amp;page=2"' in await r.text()
        for path in ("/api/status", "/status/stream"):
            async with http.get(base + path, allow_redirects=False) as r:
                assert r.status == 401, path

        r = await login(http, base, password="wrong-password")
        assert r.status == 401 and "pantau_session" not in r.cookies
        r = await login(http, base)
        assert r.status == 303 and r.headers["Location"] == "/status"
        cookie = r.headers.getall("Set-Cookie")
        session = next(c for c in cookie if c.startswith("pantau_session="))
        assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session
        async with http.get(base + "/status") as r:
            html = await r.text()
            assert r.status == 200 and "host-00" in html and "admin" in html
            for key, value in SECURITY_HEADERS.items():
                assert r.headers[key] == value
        async with http.get(base + "/static/status.js") as r:
            assert r.status == 200 and r.headers["X-Content-Type-Options"] == "nosniff"
        async with http.get(base + "/api/status") as r:
            assert r.status == 200 and (await r.json())["hosts"].keys() == {"up", "down", "unknown"}

        token = form_token(html)
        async with http.post(base + "/logout", data={"csrf": token}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/login"
        async with http.get(base + "/api/status") as r:
            assert r.status == 401  # the session is gone on the server, not only in the browser


async def test_csrf_is_required_on_every_post(tmp_path):
    async with running(web_config(tmp_path)) as (engine, base):
        async with client() as http:  # a login POST without the login form's token
            async with http.post(base + "/login", data={"user": "admin", "password": PASSWORD}) as r:
                assert r.status == 403
        async with client() as http:  # a token, but not the twin of this browser's cookie
            async with http.get(base + "/login") as r:
                await r.read()
            async with http.post(base + "/login", data={"user": "admin", "password": PASSWORD,
                                                        "csrf": "forged-token"}) as r:
                assert r.status == 403
        async with client() as http:
            assert (await login(http, base)).status == 303
            async with http.get(base + "/status") as r:
                token = form_token(await r.text())
            async with http.post(base + "/logout", data={}) as r:
                assert r.status == 403
            async with http.post(base + "/logout", data={"csrf": token + "x"}) as r:
                assert r.status == 403
            async with http.post(base + "/logout", data={"csrf": token},
                                 headers={"Origin": "http://evil.example"}) as r:
                assert r.status == 403
            async with http.get(base + "/api/status") as r:
                assert r.status == 200  # none of those logged us out


async def test_login_throttle_and_safe_redirect(tmp_path):
    async with running(web_config(tmp_path)) as (engine, base), client() as http:
        async with http.get(base + "/login?next=//evil.example/x") as r:
            token = form_token(await r.text())
        async with http.post(base + "/login", allow_redirects=False, data={
                "user": "admin", "password": PASSWORD, "csrf": token, "next": "//evil.example/x"}) as r:
            assert r.status == 303 and r.headers["Location"] == "/status"
        async with client() as other:
            for _ in range(10):
                assert (await login(other, base, password="nope-nope")).status == 401
            assert (await login(other, base)).status == 429  # even the right password, for a while


async def test_no_users_means_no_status_page(tmp_path):
    async with running(web_config(tmp_path, users=False)) as (engine, base), client() as http:
        async with http.get(base + "/status", allow_redirects=False) as r:
            assert r.status == 403 and "http.users" in await r.text()
        async with http.get(base + "/metrics") as r:
            assert r.status == 200


async def test_no_secret_is_ever_rendered(tmp_path):
    token, router_pw = "123456:AAF-secret-bot-token", "router-secret-pw"
    config = web_config(tmp_path, hosts=1, notifiers=[
        {"name": "tg", "type": "telegram", "token": token, "chat_id": 1, "api_url": "http://127.0.0.1:9"}],
        routers=[{"name": "core", "address": "127.0.0.1", "port": 9, "username": "pantau",
                  "password": router_pw, "mode": "poll", "poll_interval": "0.2s"}])
    async with running(config) as (engine, base), client() as http:
        await login(http, base)
        bodies = []
        for path in ("/status", "/status?lang=en", "/api/status", "/metrics", "/healthz", "/login"):
            async with http.get(base + path) as r:
                bodies.append(await r.text())
        text = "\n".join(bodies)
        assert "core" in text and "tg" in text
        for secret in (token, "AAF-secret", router_pw, PASSWORD, "scrypt$"):
            assert secret not in text



async def test_sessions_expire_and_failures_are_forgotten():
    """Driven clock: a session ends ``ttl`` after its last use; stale failure records go."""
    from aiohttp.test_utils import make_mocked_request

    from monitor.web.auth import SESSION_COOKIE, Auth, Session

    now = [1000.0]
    auth = Auth({"admin": hash_password("x" * 8)}, ttl=60, render_login=None, clock=lambda: now[0])
    auth._sessions["s1"] = Session("s1", "admin", "c", now[0] + 60)
    request = lambda: make_mocked_request("GET", "/status", headers={"Cookie": f"{SESSION_COOKIE}=s1"})  # noqa: E731
    now[0] += 50
    assert auth.session(request()) is not None  # used at 1050: now valid until 1110
    now[0] += 55
    assert auth.session(request()) is not None
    now[0] += 61
    assert auth.session(request()) is None and "s1" not in auth._sessions
    auth._failures["10.0.0.1"] = deque([now[0] - 400])
    auth._prune(now[0])
    assert auth._failures == {}
