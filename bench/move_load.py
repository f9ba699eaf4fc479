#!/usr/bin/env python3
"""bench/move_load.py: the write load of bench/move (see bench/README.md).

One thread per writer, each at a fixed rate (a schedule like pgbench -R:
write k is due at start + k / rate; its latency counts from when it was
due, so a write that waited, or was due while its thread was held, shows
all of its wait). Each write is one autocommitted
  UPDATE bookings SET nights = nights % 9 + 1 WHERE id = <random id>
of the writer's tenant.

  --other TENANT:LO:HI   a writer of another tenant (ids LO..HI) in the
                         source; repeatable
  --moving TENANT:LO:HI  the writer of the moving tenant: in the source
                         until a write fails with SQLSTATE SKM01 (moved),
                         then in the target; SKM02 there (target still
                         guarded) is retried at once
Writes go on until the file --stop exists. Every write is one line of
--log, written when the writer ends:
  who sched_epoch start_epoch end_epoch latency_ms attempts where status
(latency from the due time; `where` src or tgt: where it succeeded; status
ok or the last SQLSTATE). The moving writer also writes --events:
  first_skm01 EPOCH / first_tgt_ok EPOCH / skm01 N / skm02 N / other_err N
"""
import argparse
import os
import random
import sys
import threading
import time

import psycopg2
import psycopg2.errors  # noqa: F401  (pgcode on every error)

UPD = "UPDATE bookings SET nights = nights %% 9 + 1 WHERE id = %s"


def connect(dsn):
    c = psycopg2.connect(dsn)
    c.autocommit = True
    with c.cursor() as cur:
        cur.execute("SET application_name = 'move_load'")
    return c


class Writer(threading.Thread):
    def __init__(self, who, spec, args, moving):
        super().__init__(daemon=True)
        tenant, lo, hi = spec.rsplit(":", 2)
        self.who, self.tenant, self.lo, self.hi = who, tenant, int(lo), int(hi)
        self.args, self.moving = args, moving
        self.lines = []
        self.events = {"skm01": 0, "skm02": 0, "other_err": 0}
        self.rng = random.Random(hash(who) & 0xFFFF)
        self.crashed = None

    def run(self):
        try:
            self.loop()
        except Exception as e:  # a crashed writer fails the run
            self.crashed = e
            raise

    def loop(self):
        a = self.args
        src = connect(a.src)
        tgt = connect(a.tgt) if self.moving else None
        where = "src"
        rate = a.moving_rate if self.moving and a.moving_rate else a.rate
        period = 1.0 / rate
        t0_mono, t0_epoch = time.monotonic(), time.time()
        k = 0
        while not os.path.exists(a.stop):
            due = t0_mono + k * period
            k += 1
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            start = time.monotonic()
            rid = self.rng.randint(self.lo, self.hi)
            attempts, status = 0, "ok"
            while True:
                attempts += 1
                conn = src if where == "src" else tgt
                try:
                    with conn.cursor() as cur:
                        cur.execute(UPD, (rid,))
                    status = "ok"
                    if where == "tgt" and "first_tgt_ok" not in self.events:
                        self.events["first_tgt_ok"] = time.time()
                    break
                except psycopg2.Error as e:
                    code = e.pgcode or "conn"
                    status = code
                    if self.moving and code == "SKM01" and where == "src":
                        self.events["skm01"] += 1
                        self.events.setdefault("first_skm01", time.time())
                        where = "tgt"
                        continue
                    if self.moving and code == "SKM02" and where == "tgt":
                        self.events["skm02"] += 1
                        time.sleep(0.001)
                        continue
                    self.events["other_err"] += 1
                    sys.stderr.write("move_load %s: %s: %s\n" % (self.who, code, str(e).strip()))
                    if conn.closed:
                        try:
                            conn = connect(a.src if where == "src" else a.tgt)
                            if where == "src":
                                src = conn
                            else:
                                tgt = conn
                        except psycopg2.Error:
                            time.sleep(0.1)
                    break
                if os.path.exists(a.stop):
                    break
            end = time.monotonic()
            self.lines.append("%s %.6f %.6f %.6f %.3f %d %s %s" % (
                self.who, t0_epoch + (due - t0_mono), t0_epoch + (start - t0_mono),
                t0_epoch + (end - t0_mono), (end - due) * 1000.0, attempts, where, status))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--src", required=True, help="libpq conninfo of the source database")
    p.add_argument("--tgt", required=True, help="libpq conninfo of the target database")
    p.add_argument("--other", action="append", default=[], metavar="TENANT:LO:HI")
    p.add_argument("--moving", metavar="TENANT:LO:HI")
    p.add_argument("--rate", type=float, default=50.0, help="writes/s of each writer (50)")
    p.add_argument("--moving-rate", type=float, help="writes/s of the moving writer (--rate)")
    p.add_argument("--stop", required=True, help="stop when this file exists")
    p.add_argument("--log", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--ready", help="touched once every writer is connected")
    a = p.parse_args()
    ws = [Writer("o%d" % i, s, a, False) for i, s in enumerate(a.other)]
    mv = None
    if a.moving:
        mv = Writer("mv", a.moving, a, True)
        ws.append(mv)
    for w in ws:
        w.start()
    if a.ready:
        time.sleep(0.5)
        open(a.ready, "w").close()
    for w in ws:
        w.join()
    with open(a.log, "w") as f:
        for w in ws:
            f.write("\n".join(w.lines) + ("\n" if w.lines else ""))
    with open(a.events, "w") as f:
        if mv is not None:
            for k, v in sorted(mv.events.items()):
                f.write("%s %s\n" % (k, v if isinstance(v, int) else "%.6f" % v))
        f.write("errors %d\n" % sum(w.events["other_err"] for w in ws))
    dead = [w.who for w in ws if w.crashed is not None]
    if dead:
        sys.stderr.write("move_load: writers %s crashed\n" % ", ".join(dead))
        sys.exit(1)


if __name__ == "__main__":
    main()
