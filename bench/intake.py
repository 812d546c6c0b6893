"""Benchmark: the full intake endpoint against a bare insert of the same row, over real HTTP.

    .venv/bin/python bench/intake.py                # 300 requests per endpoint and round
    .venv/bin/python bench/intake.py --requests 100 # quicker
    CIVICGRID_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/intake.py --postgres # a throwaway database "benchintake" there

Sets up a throwaway database (SQLite, or with --postgres a database created on the server of
CIVICGRID_DATABASE_URL and dropped afterwards) with the test town (a district, 2 streets, 4 communities,
8 grids), the demo category tree's shape (3 levels), a unit, a dispatch rule that dispatches
automatically, the Jinniu time-limit policy and a hotline operator with an API token. Then it
starts `manage.py runserver --noreload --nothreading` in a subprocess with bench-only settings
(bench/_intake_settings.py) whose URLs add a bare endpoint (bench/_intake_urls.py) and, on the
same server and in the same run, POSTs N cases, one request after another, to:

- `POST /api/v1/cases`: the real thing (schema, token, validation, the locator, the day's
  number under a row lock, the case, RECEIVE event and audit row, deadlines, the outbox,
  routing and the automatic dispatch with its own event, audit row and outbox rows);
- `POST /bench/v1/cases`: the same JSON, the same token, one INSERT of the same Case row.

Rounds alternate the two; each endpoint's best round counts. Target: the full endpoint at
least half the bare rate. Prints a table and writes bench/results/intake.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, environment, print_table, setup_django, write_results  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_postgres(name: str):
    """Create database `name` afresh on the server of CIVICGRID_DATABASE_URL, point Django at
    it and migrate; return its URL and a function that drops it."""
    from urllib.parse import urlparse, urlunparse

    import psycopg

    url = os.environ.get("CIVICGRID_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("--postgres needs CIVICGRID_DATABASE_URL=postgres://user@host:port/db")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    bench_url = urlunparse(urlparse(url)._replace(path=f"/{name}"))
    os.environ["CIVICGRID_DATABASE_URL"] = bench_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')

    return bench_url, drop


def build_world() -> dict:
    """The town, categories, unit, rule, policy and operator; returns what the client needs."""
    from django.core.management import call_command

    from civicgrid.accounts.api import issue_token
    from civicgrid.accounts.choices import Role
    from civicgrid.cases.models import DispatchRule
    from civicgrid.cases.tests.builders import build_category, build_unit
    from tests.builders import Town, build_user

    town = Town()
    leaf = build_category(
        "占道经营", parent=build_category("市容环境", parent=build_category("城市管理"))
    )
    unit = build_unit("城管执法中队", areas=[town.district])
    DispatchRule.objects.create(category=leaf, area=town.district, unit=unit, auto_dispatch=True)
    call_command("load_sla_presets", "--activate", "jinniu", verbosity=0)
    operator = build_user("bench_operator", role=Role.HOTLINE_OPERATOR, area=town.district)
    _token, key = issue_token(operator, "bench", actor=None)
    points = [town.centre(g) for g in town.grids.values()]
    return {"token": key, "category": leaf.pk, "points": points}


def payload(world: dict, rng: random.Random, n: int) -> dict:
    lat, lon = rng.choice(world["points"])
    return {
        "channel": "hotline",
        "kind": "complaint",
        "category": world["category"],
        "title": f"占道经营 {n}",
        "description": "菜市场门口每天早上有人摆摊,堵住了人行道,希望尽快处理。" * 3,
        "lat": lat + rng.uniform(-0.004, 0.004),
        "lon": lon + rng.uniform(-0.004, 0.004),
        "reporter_name": "王小明",
        "reporter_phone": "13812345678",
        "idempotency_key": f"bench-{n}",
    }


def post(port: int, path: str, token: str, body: dict) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def wait_for(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server stopped (exit {server.returncode}).")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/me")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("The server did not answer in time.")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_round(port: int, path: str, world: dict, rng: random.Random, start: int, n: int):
    """(cases per second, the server's CPU milliseconds per case) for n requests."""
    statuses: dict[int, int] = {}
    server_pid = world.get("server_pid")
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    began = time.perf_counter()
    for i in range(start, start + n):
        status = post(port, path, world["token"], payload(world, rng, i))
        statuses[status] = statuses.get(status, 0) + 1
    seconds = time.perf_counter() - began
    cpu = cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
    if set(statuses) != {201}:
        raise SystemExit(f"{path}: unexpected answers {statuses}")
    return n / seconds, cpu * 1000 / n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="on PostgreSQL (CIVICGRID_DATABASE_URL's server, a throwaway database)",
    )
    parser.add_argument("--database", default="benchintake", help="its name, with --postgres")
    args = parser.parse_args(argv)

    drop = None
    if args.postgres:
        database_url, drop = setup_postgres(args.database)
    else:
        database_url = f"sqlite:///{setup_django('intake')}"
    try:
        run(args, database_url)
    finally:
        if drop is not None:
            drop()


def run(args, database_url: str) -> None:
    world = build_world()
    from django.db import connection, connections

    from civicgrid.cases.models import Case

    connections.close_all()

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench._intake_settings",
        "CIVICGRID_DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rng = random.Random(7)
    rates: dict[str, list[float]] = {"full": [], "bare": []}
    cpu_ms: dict[str, list[float]] = {"full": [], "bare": []}
    world["server_pid"] = server.pid
    paths = {"full": "/api/v1/cases", "bare": "/bench/v1/cases"}
    try:
        wait_for(port, server)
        # Warm both paths (imports, the locator's index, prepared statements).
        run_round(port, paths["full"], world, rng, 10_000_000, 20)
        run_round(port, paths["bare"], world, rng, 20_000_000, 20)
        n = args.requests
        for r in range(args.rounds):
            for name in ("bare", "full") if r % 2 == 0 else ("full", "bare"):
                start = (r + 1) * 1_000_000 + (0 if name == "full" else 500_000)
                rate, cpu = run_round(port, paths[name], world, rng, start, n)
                rates[name].append(rate)
                cpu_ms[name].append(cpu)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()

    dispatched = Case.objects.filter(title__startswith="占道经营", lead_unit__isnull=False).count()
    database = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    full, bare = max(rates["full"]), max(rates["bare"])
    ratio = full / bare
    # The server's CPU per case moves less than wall time when other processes share the
    # machine: a second view of the same ratio (bare CPU / full CPU, best rounds).
    full_cpu, bare_cpu = min(cpu_ms["full"]), min(cpu_ms["bare"])
    cpu_ratio = bare_cpu / full_cpu if full_cpu else 0.0
    rows = [
        [
            "bare insert (/bench/v1/cases)",
            bare,
            1000 / bare,
            ", ".join(f"{x:.0f}" for x in rates["bare"]),
            bare_cpu,
        ],
        [
            "full intake (/api/v1/cases)",
            full,
            1000 / full,
            ", ".join(f"{x:.0f}" for x in rates["full"]),
            full_cpu,
        ],
    ]
    print_table(
        ["endpoint", "cases/s (best)", "ms/case", "rounds (cases/s)", "server CPU ms/case"],
        rows,
        title=f"Intake over HTTP, {args.requests} sequential requests per round, "
        f"{args.rounds} rounds, runserver --nothreading, {database}",
    )
    verdict = "meets" if ratio >= 0.5 else "misses"
    print(f"\nfull / bare = {ratio:.2f} ({verdict} the target of at least 0.5)")
    print(f"server CPU per case, bare / full = {cpu_ratio:.2f}")
    print(f"cases dispatched automatically by the catalogue: {dispatched}")
    path = write_results(
        "intake" if database == "SQLite" else "intake_postgres",
        {
            "requests_per_round": args.requests,
            "rounds": args.rounds,
            "full_cases_per_s": round(full, 1),
            "bare_cases_per_s": round(bare, 1),
            "full_rounds": [round(x, 1) for x in rates["full"]],
            "bare_rounds": [round(x, 1) for x in rates["bare"]],
            "ratio": round(ratio, 3),
            "full_server_cpu_ms": round(full_cpu, 2),
            "bare_server_cpu_ms": round(bare_cpu, 2),
            "cpu_ratio": round(cpu_ratio, 3),
            "target_ratio": 0.5,
            "auto_dispatched": dispatched,
            "environment": environment(),
        },
    )
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
