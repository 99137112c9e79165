#!/usr/bin/env python3
"""Turns the statements lead-store sent for one API request into a pgbench script.

  capture_sql.py SERVER_LOG OFFSET OUT_FILE

Reads the PostgreSQL server log from byte OFFSET (the bench database runs
with log_min_duration_statement = 0, so every statement of its sessions is
logged with its duration), finds the transaction that served a list request
(the one reading leads.pipelines and leads.leads), and writes its statements
to OUT_FILE with the bind parameters inlined as the literals the server
logged: exactly what the API ran, for `pgbench -M simple -f`. Exits 1 when
no such transaction is in the log.
"""
import re
import sys

LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (LOG|DETAIL):  (.*)$")
STMT = re.compile(r"^duration: [\d.]+ ms  (?:statement|execute [^:]*): (.*)$")
PARAM = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")


def main():
    path, offset, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    # pid → list of [sql, params]; statements in log order per backend.
    per_pid = {}
    last = {}
    for raw in text.splitlines():
        m = LINE.match(raw)
        if not m:
            continue
        pid, kind, rest = m.groups()
        if kind == "LOG":
            s = STMT.match(rest)
            if s:
                entry = [s.group(1), {}]
                per_pid.setdefault(pid, []).append(entry)
                last[pid] = entry
            else:
                last.pop(pid, None)
        elif kind == "DETAIL" and rest.startswith("parameters: ") and pid in last:
            last[pid][1] = {int(n): v for n, v in PARAM.findall(rest)}
    for stmts in per_pid.values():
        # Split the backend's statements into transactions (BEGIN … COMMIT).
        tx = []
        for sql, params in stmts:
            if sql.upper().startswith("BEGIN"):
                tx = []
            tx.append((sql, params))
            if sql.upper().startswith(("COMMIT", "ROLLBACK")) and \
                    any("leads.pipelines" in s for s, _ in tx) and any("FROM leads.leads" in s for s, _ in tx):
                with open(out, "w") as f:
                    for s, p in tx:
                        for n in sorted(p, reverse=True):  # $10 before $1
                            s = s.replace(f"${n}", p[n])
                        f.write(s.rstrip(";") + ";\n")
                return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
