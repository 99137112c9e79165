#!/usr/bin/env python3
"""Turns the statements lead-store sent for one API request into a pgbench script.

  capture_sql.py SERVER_LOG OFFSET OUT_FILE

Reads the PostgreSQL server log from byte OFFSET (the bench database runs
with log_min_duration_statement = 0, so every statement of its sessions is
logged with its duration), finds the session that served the list request
(the one reading leads.leads — the bench sends one request at a time, so its
statements after OFFSET are that request's; sessions of the outbox relay and
the follow-up scheduler are recognised by their tables and skipped), and
writes its statements to OUT_FILE with the bind parameters inlined as the
literals the server logged: exactly what the API ran (a list runs without
BEGIN/COMMIT), for `pgbench -M simple -f`. Connection set-up (SET …) and the
relay's / scheduler's statements on a shared session are left out. Exits 1
when no such session is in the log.
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
        # The request's statements all read leads.leads (page, count, EXPLAIN),
        # leads.pipelines or, for a search, leads.search_queries (the word
        # expansion); the pool may lend the same session to the outbox
        # relay or the follow-up scheduler in between, whose statements are
        # left out.
        mine = [(sql, params) for sql, params in stmts
                if ("leads.leads" in sql or "leads.pipelines" in sql or "leads.search_queries" in sql)
                and "leads.outbox" not in sql and "leads.followups" not in sql]
        if not any("FROM leads.leads" in sql for sql, _ in mine):
            continue
        with open(out, "w") as f:
            for sql, params in mine:
                for n in sorted(params, reverse=True):  # $10 before $1
                    sql = sql.replace(f"${n}", params[n])
                f.write(sql.rstrip(";") + ";\n")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
