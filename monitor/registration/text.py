"""The registration page's words in Indonesian (default) and English, and the WhatsApp code text."""

from __future__ import annotations

_TEXT: dict[str, tuple[str, str]] = {  # key: (id, en)
    "title": ("Daftar / Hubungi Admin", "Register / Contact the admin"),
    "intro": ("Isi formulir ini untuk meminta akun hotspot atau mengirim pesan ke admin. Kode verifikasi "
              "dikirim ke WhatsApp Anda.",
              "Fill in this form to ask for a hotspot account or to write to the admin. A verification code "
              "is sent to your WhatsApp."),
    "name": ("Nama", "Name"),
    "phone": ("Nomor WhatsApp", "WhatsApp number"),
    "package": ("Paket", "Package"),
    "message": ("Pesan (boleh kosong)", "Message (optional)"),
    "send": ("Kirim", "Send"),
    "code": ("Kode verifikasi", "Verification code"),
    "code_sent": ("Kode verifikasi sudah dikirim ke WhatsApp {phone}. Masukkan kode di bawah ini.",
                  "A verification code was sent to WhatsApp {phone}. Enter it below."),
    "verify": ("Verifikasi", "Verify"),
    "done": ("Terima kasih, {name}. Nomor Anda sudah terverifikasi dan permintaan Anda diteruskan ke admin. "
             "Jawaban dikirim lewat WhatsApp.",
             "Thank you, {name}. Your number is verified and your request went to the admin. "
             "The answer comes over WhatsApp."),
    "bad_name": ("Isi nama Anda (1-60 huruf).", "Enter your name (1-60 characters)."),
    "bad_phone": ("Nomor WhatsApp tidak valid. Contoh: 0857 1234 5678.",
                  "Not a valid WhatsApp number. Example: 0857 1234 5678."),
    "bad_package": ("Pilih salah satu paket.", "Choose a package."),
    "bad_message": ("Pesan terlalu panjang (paling banyak 500 huruf).", "Message too long (500 characters at most)."),
    "wrong_code": ("Kode salah. Coba lagi.", "Wrong code. Try again."),
    "expired": ("Kode kedaluwarsa atau terlalu banyak percobaan. Silakan isi formulir lagi.",
                "The code expired or was tried too often. Please fill in the form again."),
    "limited": ("Terlalu banyak permintaan. Coba lagi nanti.", "Too many requests. Try again later."),
    "busy": ("Terlalu banyak permintaan yang menunggu. Coba lagi nanti.",
             "Too many requests are waiting. Try again later."),
    "send_failed": ("Kode tidak dapat dikirim ke WhatsApp saat ini. Coba lagi nanti.",
                    "The code could not be sent to WhatsApp right now. Try again later."),
    "csrf": ("Formulir kedaluwarsa. Muat ulang halaman dan coba lagi.",
             "The form expired. Reload the page and try again."),
    "follow": ("Lihat jawaban admin di sini (biarkan halaman terbuka).",
               "See the admin's answer here (keep the page open)."),
    "waiting": ("Menunggu keputusan admin... Halaman ini diperbarui sendiri.",
                "Waiting for the admin... This page refreshes itself."),
    "rejected": ("Maaf, permintaan Anda ditolak oleh admin.", "Sorry, the admin turned down your request."),
    "chat_link": ("Tanya admin lewat chat", "Chat with the admin"),
    "chat_title": ("Chat dengan admin", "Chat with the admin"),
    "chat_intro": ("Tulis pesan untuk admin. Jawaban admin muncul di halaman ini (muat ulang untuk melihat).",
                   "Write to the admin. The admin's answer shows on this page (reload to see it)."),
    "chat_text": ("Pesan", "Message"),
    "chat_you": ("Anda", "You"),
    "chat_admin": ("Admin", "Admin"),
    "chat_empty": ("Belum ada pesan.", "No messages yet."),
    "chat_reload": ("Muat ulang", "Reload"),
    "chat_bad": ("Tulis pesan (paling banyak 500 huruf).", "Write a message (500 characters at most)."),
    "chat_busy": ("Terlalu banyak percakapan terbuka. Coba lagi nanti.",
                  "Too many open conversations. Try again later."),
    "chat_failed": ("Pesan tidak dapat diteruskan ke admin saat ini. Coba lagi nanti.",
                    "The message could not be passed on to the admin right now. Try again later."),
    "other_lang": ("English", "Bahasa Indonesia"),
    "wa_code": ("Kode verifikasi pendaftaran hotspot Anda: {code}\nBerlaku {minutes} menit. Jangan berikan "
                "kode ini kepada siapa pun.",
                "Your hotspot registration code: {code}\nValid for {minutes} minutes. Do not share it."),
}


def text(key: str, language: str, **values: str) -> str:
    words = _TEXT[key][0 if language == "id" else 1]
    return words.format(**values) if values else words
