#!/usr/bin/env python3
"""CSV for the import benchmark: gen_csv.py ROWS EXISTING_PHONES_FILE [PREFIX] > leads.csv

Realistic mix for an expo / vendor list: new people (Indonesian mobiles written
as PREFIX… (default 0857), some with +62 and spaces), ~3 % already in the CRM (phones from
EXISTING_PHONES_FILE, one E.164 per line: the import adds tags / fills fields →
updated or duplicate), ~2 % repeated inside the file (duplicate), ~1 % invalid
(a phone that is not one and no e-mail), quoted names with commas, tags in one
field, a `city` column that goes to the lead's `extra`.
"""
import random
import sys

rows = int(sys.argv[1])
existing = [l.strip() for l in open(sys.argv[2]) if l.strip()]
prefix = sys.argv[3] if len(sys.argv) > 3 else "0857"
rnd = random.Random(42)
first = ["Budi", "Siti", "Agus", "Dewi", "Rudi", "Sri", "Andi", "Rina", "Joko", "Putri", "Hendra", "Nur", "Eko",
         "Ayu", "Dian", "Fajar", "Indah", "Rizky", "Yuni", "Arif", "Maya", "Adi", "Ratna", "Fitri", "Hadi"]
last = ["Santoso", "Hartono", "Wijaya", "Saputra", "Pratama", "Kusuma", "Hidayat", "Nugroho", "Setiawan",
        "Siregar", "Nasution", "Gunawan", "Halim", "Wibowo", "Rahman", "Utami", "Kurniawan", "Lubis"]
programs = ["S1 Keperawatan", "S1 Farmasi", "D3 Kebidanan", "S1 Manajemen", "S1 Informatika"]
cities = ["Jakarta", "Surabaya", "Bandung", "Medan", "Semarang", "Makassar"]
tags = ["expo-jakarta", "nursing", "pharmacy", "scholarship", "open-day", "early-bird"]


def q(s):
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n') else s


out = sys.stdout
out.write("name,phone,email,session_year,program,source,tags,city\n")
seen = []
for i in range(1, rows + 1):
    f, l = rnd.choice(first), rnd.choice(last)
    name = f"{l}, {f}" if i % 37 == 0 else f"{f} {l}"
    r = rnd.random()
    if r < 0.01:
        phone, email = "12345", ""                                   # invalid: not a phone, no e-mail
    elif r < 0.03 and seen:
        phone, email = rnd.choice(seen), ""                          # repeated inside the file
    elif r < 0.06 and existing:
        phone, email = existing[(i * 31) % len(existing)], ""        # already a lead
    else:
        n = f"{(i * 7919) % 100000000:08d}"
        phone = f"{prefix}{n}" if i % 3 else f"+62 {prefix[1:]} {n[:4]} {n[4:]}"
        seen.append(phone)
        email = f"{f.lower()}.{l.lower()}{i}@example.com" if rnd.random() < 0.6 else ""
    t = ";".join(sorted(rnd.sample(tags, rnd.randint(0, 2))))
    out.write(",".join([q(name), q(phone), email, rnd.choice(["2026", "2027"]), rnd.choice(programs), "expo",
                        q(t), rnd.choice(cities)]) + "\n")
