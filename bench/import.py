"""Benchmark: importing residents from a spreadsheet vs a raw executemany of the same rows.

    .venv/bin/python bench/import.py                # throwaway SQLite DB under var/bench/
    .venv/bin/python bench/import.py --postgres     # a throwaway database on the server named
                                                    # by CIVICGRID_DATABASE_URL
    .venv/bin/python bench/import.py --rows 20000

A CSV of N residents (Chinese headers, as clerks send them) goes through the real importer:
`create_import_job` + `run_import`, which parses, validates every row (ID check digits, phones,
tags, household addresses, duplicates within the file and against the database) and writes
them with bulk_create in one transaction. The baseline inserts exactly the rows the importer
wrote, into the same table of the same database in the same run, with one raw
`cursor.executemany` and a commit. Target: the import within 5x of the baseline.
Prints a table and writes bench/results/import.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 5.0
RELATIONS = ["户主", "配偶", "子女", "父母", "其他"]
TAGS = ["", "", "", "低保", "残疾人、独居", "退休", "", "退役军人"]


def _configure(postgres: bool) -> tuple[str, callable]:
    """Point Django at a throwaway database; return its label and a cleanup function."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if not postgres:
        path = ROOT / "var" / "bench" / "import.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["CIVICGRID_DATABASE_URL"] = f"sqlite:///{path}"
        return "SQLite", lambda: None

    from urllib.parse import urlparse, urlunparse

    import psycopg

    url = os.environ.get("CIVICGRID_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("--postgres needs CIVICGRID_DATABASE_URL=postgres://user@host:port/db")
    name = f"civicgrid_bench_import_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["CIVICGRID_DATABASE_URL"] = urlunparse(urlparse(url)._replace(path=f"/{name}"))

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')

    return "PostgreSQL", drop


def _setup(rows: int):
    """Migrate, build a district down to one grid, a user and rows/2.5 households."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from civicgrid.accounts.models import User
    from civicgrid.areas import services as area_services
    from civicgrid.areas.choices import Level
    from civicgrid.registry.models import Household

    district = area_services.create_area(
        actor=None, name="基准区", level=Level.DISTRICT, code="510198"
    )
    street = area_services.create_area(
        actor=None, name="基准街道", level=Level.STREET, code="510198001", parent=district
    )
    community = area_services.create_area(
        actor=None, name="基准社区", level=Level.COMMUNITY, code="510198001001", parent=street
    )
    grid = area_services.create_area(
        actor=None, name="基准网格", level=Level.GRID, code="510198001001001", parent=community
    )
    user = User.objects.create_user("bench", password="bench-pass-123", is_superuser=True)
    n_households = max(1, int(rows / 2.5))
    Household.objects.bulk_create(
        [Household(area=grid, address=f"基准路{i}号") for i in range(n_households)],
        batch_size=2000,
    )
    return grid, user, n_households


def _csv(rows: int, n_households: int) -> bytes:
    from civicgrid.registry.idnumbers import make_id_number

    start = dt.date(1940, 1, 1)
    lines = ["姓名,身份证号,联系电话,与户主关系,人口类型,标签,地址,民族"]
    for i in range(rows):
        birth = start + dt.timedelta(days=i // 1000)
        gender = "male" if (i // 500) % 2 else "female"
        number = make_id_number("510106", birth, i % 500, gender)
        lines.append(
            f"居民{i},{number},{13800000000 + i},{RELATIONS[i % 5]},"
            f"{'流动' if i % 7 == 0 else '户籍'},{TAGS[i % len(TAGS)]},"
            f"基准路{i % n_households}号,汉族"
        )
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


COLUMNS = (
    "area_id",
    "household_id",
    "name",
    "gender",
    "id_number",
    "birth_date",
    "ethnicity",
    "phone",
    "relation",
    "population_type",
    "tags",
    "arrived_on",
    "created_at",
)


def _raw_executemany(rows: list[tuple]) -> float:
    from django.db import connection

    from civicgrid.registry.models import Resident

    table = Resident._meta.db_table
    ph = "%s"
    sql = (
        f"INSERT INTO {connection.ops.quote_name(table)} ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join([ph] * len(COLUMNS))})"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.executemany(sql, rows)
        cursor.execute("COMMIT")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)

    database, cleanup = _configure(args.postgres)
    try:
        result = _run(args.rows, database)
    finally:
        cleanup()
    return result


def _run(rows: int, database: str) -> dict:
    grid, user, n_households = _setup(rows)
    data = _csv(rows, n_households)

    from civicgrid.registry.choices import ImportStatus
    from civicgrid.registry.importers import create_import_job, run_import
    from civicgrid.registry.models import Resident

    def timed_import(dry_run: bool):
        started = time.perf_counter()
        job = create_import_job(
            actor=user,
            kind="residents",
            area=grid,
            file_name="residents.csv",
            data=data,
            dry_run=dry_run,
        )
        job = run_import(job, data)
        return time.perf_counter() - started, job

    dry_s, dry_job = timed_import(True)
    assert dry_job.status == ImportStatus.CHECKED, (dry_job.status, dry_job.message)
    import_s, job = timed_import(False)
    assert job.status == ImportStatus.SUCCEEDED, (job.status, job.message, job.errors[:3])
    assert Resident.objects.count() == rows

    written = list(Resident.objects.order_by("id").values_list(*COLUMNS))
    Resident.objects.all().delete()
    raw_s = _raw_executemany(written)
    assert Resident.objects.count() == rows

    ratio = import_s / raw_s
    result = {
        "benchmark": "import",
        "database": database,
        "rows": rows,
        "file_bytes": len(data),
        "dry_run_seconds": round(dry_s, 3),
        "import_seconds": round(import_s, 3),
        "raw_executemany_seconds": round(raw_s, 3),
        "ratio": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "within_target": ratio <= TARGET_RATIO,
        "import_rows_per_second": round(rows / import_s),
    }
    _report(result)
    return result


def _report(result: dict) -> None:
    rows = result["rows"]
    print(f"Resident import, {rows:,} rows, {result['database']}")
    print(f"{'step':<44}{'seconds':>10}{'rows/s':>12}")
    for label, key in (
        ("run_import, dry run (parse + validate)", "dry_run_seconds"),
        ("run_import (parse + validate + write)", "import_seconds"),
        ("raw executemany of the same rows", "raw_executemany_seconds"),
    ):
        seconds = result[key]
        print(f"{label:<44}{seconds:>10.3f}{rows / seconds:>12,.0f}")
    verdict = "within" if result["within_target"] else "OUTSIDE"
    print(f"ratio import / raw: {result['ratio']:.2f}x ({verdict} the {TARGET_RATIO:.0f}x target)")
    suffix = "" if result["database"] == "SQLite" else "-postgres"
    out = ROOT / "bench" / "results" / f"import{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
