#!/usr/bin/env python3
"""Generates a large synthetic conversation corpus for the extractor benchmark.

usage: gen_corpus.py MESSAGES [SEED] > corpus.jsonl

Conversations of 2-8 messages mixing Indonesian, English, Portuguese and
Hinglish: introductions, slot questions and bare replies, phones in many
formats, obfuscated emails, prices, dates and order numbers (traps), and
plain chatter. Deterministic for a given seed.
"""
import json
import random
import sys

FIRST = ["Budi", "Siti", "Rina", "Arif", "Dewi", "Agus", "Maya", "Joko", "Putri", "Fajar", "Natalie", "Ethan",
         "Claire", "Marcus", "Priya", "Rahul", "Neha", "Carolina", "João", "Letícia", "Bruna", "Marcelo", "Wei",
         "Aisyah", "Kevin", "Sanjay", "Divya", "Gabriel", "Luíza", "Yusuf"]
LAST = ["Santoso", "Wijaya", "Pratama", "Lestari", "Hartono", "Cruz", "Bennett", "Goh", "Sharma", "Patil",
        "Menon", "Dias", "Lima", "Freitas", "Almeida", "Kurniawan", "Halim", "Tan", "Reddy", "Souza"]
PROGRAMS = ["S1 Teknik Elektro", "kelas robotik", "MBA", "design course", "curso de Administração", "BBA",
            "kursus jahit", "desain interior", "skin consultation", "coding bootcamp"]


def phone(r):
    n = "8" + str(r.randint(1, 9)) + "".join(str(r.randint(0, 9)) for _ in range(r.choice([8, 9, 10])))
    fmt = r.randint(0, 5)
    if fmt == 0:
        return "0" + n
    if fmt == 1:
        return "0" + n[:3] + "-" + n[3:7] + "-" + n[7:]
    if fmt == 2:
        return "+62 " + n[:3] + " " + n[3:7] + " " + n[7:]
    if fmt == 3:
        return "62" + n
    if fmt == 4:
        return "+91 9" + "".join(str(r.randint(0, 9)) for _ in range(4)) + " " + "".join(str(r.randint(0, 9)) for _ in range(5))
    return "+55 11 9" + "".join(str(r.randint(0, 9)) for _ in range(4)) + "-" + "".join(str(r.randint(0, 9)) for _ in range(4))


def email(r, first, last):
    local = (first + "." + last).lower().replace("ã", "a").replace("í", "i").replace("ã", "a").replace("é", "e")
    dom = r.choice(["gmail", "yahoo", "outlook", "hotmail"])
    style = r.randint(0, 3)
    if style == 0:
        return f"{local}@{dom}.com"
    if style == 1:
        return f"{local} [at] {dom} [dot] com"
    if style == 2:
        return f"{local} at {dom} dot com"
    return f"{local} @{dom}.com"


def conversation(r):
    f, l = r.choice(FIRST), r.choice(LAST)
    name = f + (" " + l if r.random() < 0.7 else "")
    p, e, prog = phone(r), email(r, f, l), r.choice(PROGRAMS)
    user_intros = [
        f"Selamat pagi kak, saya {name}, mau tanya pendaftaran {prog}. WA saya {p}",
        f"nama saya {name}, email {e}",
        f"Hi, I'm {name}, interested in the {prog}. You can reach me at {p}",
        f"Oi, meu nome é {name}, quero saber do {prog}. WhatsApp {p}",
        f"Hello, myself {name}, need {prog} admission details. Contact {p}",
        f"Halo kak, aku {name} mau info {prog}",
        f"{name} here, please send the brochure to {e}",
        f"mau tanya biaya {prog} kak, kira-kira berapa ya?",
        f"saya dari Bandung kak, harga paketnya Rp 2.500.000 ya? transfer ke rek 1234567890",
        f"no order saya 0812{r.randint(10000000, 99999999)} belum sampai kak",
        f"I'm from Jakarta, is the {prog} fully online?",
        f"Sou de Belo Horizonte e queria saber se tem polo EAD aqui",
    ]
    bot_msgs = [
        "Boleh tahu nama kakak?",
        "Nomor WA yang bisa dihubungi?",
        "May I have your email?",
        "Qual é o seu nome?",
        f"Pendaftaran {prog} masih dibuka sampai akhir bulan kak.",
        "Untuk info lebih lanjut hubungi admin di 0811-9080-7766 ya.",
        "Terima kasih, ada lagi yang bisa dibantu?",
    ]
    replies = [name.lower(), name, p, e, "mau tanya jurusan dulu kak", "ok kak, terima kasih", "ralat, nomor yang benar " + p,
               "sorry, wrong number, it's " + p, "STOP", "berapa biayanya?", "boleh datang ke kampus hari sabtu?"]
    msgs = []
    n = r.randint(2, 8)
    while len(msgs) < n:
        k = r.random()
        if not msgs or k < 0.3:
            msgs.append({"from": "user", "text": r.choice(user_intros)})
        elif k < 0.6:
            msgs.append({"from": "bot", "text": r.choice(bot_msgs)})
        else:
            msgs.append({"from": "user", "text": r.choice(replies)})
    return msgs


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    r = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 4)
    out = sys.stdout
    written, i = 0, 0
    while written < total:
        msgs = conversation(r)[: total - written]
        out.write(json.dumps({"id": f"c{i}", "messages": msgs}, ensure_ascii=False) + "\n")
        written += len(msgs)
        i += 1


if __name__ == "__main__":
    main()
