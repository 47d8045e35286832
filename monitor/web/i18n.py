"""The status page's words in Indonesian (default) and English."""

from __future__ import annotations

LANGUAGES = ("id", "en")

_TEXT: dict[str, tuple[str, str]] = {  # key: (id, en)
    "title": ("Status pantau", "pantau status"),
    "login": ("Masuk", "Log in"),
    "logout": ("Keluar", "Log out"),
    "user": ("Pengguna", "User"),
    "password": ("Kata sandi", "Password"),
    "invalid": ("Pengguna atau kata sandi salah.", "Wrong user or password."),
    "throttled": ("Terlalu banyak percobaan gagal. Coba lagi nanti.", "Too many failed attempts. Try again later."),
    "no_users": ("Halaman status belum diaktifkan: tambahkan pengguna di http.users.",
                 "The status page is not enabled: add a user under http.users."),
    "routers": ("Router", "Routers"),
    "hosts": ("Host", "Hosts"),
    "events": ("Kejadian terbaru", "Recent events"),
    "outbox": ("Antrean notifikasi", "Notification queue"),
    "maintenance": ("Jadwal pemeliharaan", "Maintenance windows"),
    "none": ("Tidak ada", "None"),
    "up": ("naik", "up"),
    "down": ("mati", "down"),
    "unknown": ("belum diketahui", "unknown"),
    "mixed": ("naik-turun", "flapping"),
    "reachable": ("terjangkau", "reachable"),
    "unreachable": ("tidak terjangkau", "unreachable"),
    "hotspot": ("Hotspot aktif", "Hotspot active"),
    "ppp": ("PPPoE aktif", "PPPoE active"),
    "api": ("API", "API"),
    "since": ("sejak", "since"),
    "rtt": ("RTT", "RTT"),
    "loss": ("hilang", "loss"),
    "last24h": ("24 jam terakhir", "last 24 h"),
    "name": ("Nama", "Name"),
    "state": ("Status", "State"),
    "all": ("Semua", "All"),
    "group": ("Kelompok", "Group"),
    "search": ("Cari host", "Find host"),
    "page": ("Halaman", "Page"),
    "prev": ("Sebelumnya", "Previous"),
    "next": ("Berikutnya", "Next"),
    "pending": ("menunggu", "pending"),
    "dead": ("gagal", "dead"),
    "automation": ("Sistem pantau", "pantau itself"),
    "tasks_ok": ("semua tugas berjalan", "all tasks running"),
    "tasks_bad": ("tugas bermasalah", "tasks failing"),
    "updated": ("Diperbarui", "Updated"),
    "time": ("Waktu", "Time"),
    "type": ("Jenis", "Type"),
    "source": ("Sumber", "Source"),
    "target": ("Sasaran", "Target"),
    "start": ("Mulai", "Start"),
    "end": ("Selesai", "End"),
    "reason": ("Alasan", "Reason"),
    "no_hosts": ("Tidak ada host yang cocok.", "No matching hosts."),
    "go": ("Tampilkan", "Show"),
}


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    for value in (query, cookie):
        if value in LANGUAGES:
            return value
    if accept and accept.strip().lower().startswith("en"):
        return "en"
    return "id"


def translator(lang: str):
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def t(key: str) -> str:
        pair = _TEXT.get(key)
        return key if pair is None else pair[index]

    return t
