"""`manage.py mine_topics`: the top hot problems of a CSV of messages, or of an area's cases.

    manage.py mine_topics --csv ../shared/data/gov_messages/attachment3_messages_with_votes_4326.csv \\
        --text-cols 留言主题,留言详情 --time-col 留言时间 --top 10 [--markdown docs/insights-example.md]

    manage.py mine_topics --area 510106001 --since 2026-08-01 --until 2026-11-01 --save

Columns named 留言编号 (id), 留言用户 (reporter), 点赞数 and 反对数 (likes, dislikes) are used
when present unless other columns are named. With --area the cases of that area are mined
(as an administrator, or as --user); --save stores the run and its candidates (like the page).
"""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from civicgrid.areas.models import Area
from civicgrid.core import clock
from civicgrid.core.errors import ServiceError
from civicgrid.insights import csvdocs, mining, selectors, services

DEFAULT_COLUMNS = {
    "id_col": "留言编号",
    "reporter_col": "留言用户",
    "likes_col": "点赞数",
    "dislikes_col": "反对数",
}


class Command(BaseCommand):
    help = "Print the top hot problems (topic-mining candidates) of a CSV or of an area's cases."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--csv", type=Path, help="a UTF-8 CSV of messages")
        source.add_argument("--area", help="the code of an area whose cases to mine")
        parser.add_argument("--text-cols", default="", help="text columns, title first (CSV)")
        parser.add_argument("--time-col", default="", help="the time column (CSV)")
        parser.add_argument("--id-col", default=None)
        parser.add_argument("--reporter-col", default=None)
        parser.add_argument("--likes-col", default=None)
        parser.add_argument("--dislikes-col", default=None)
        parser.add_argument("--since", help="YYYY-MM-DD (cases; default 90 days ago)")
        parser.add_argument("--until", help="YYYY-MM-DD, exclusive (cases; default tomorrow)")
        parser.add_argument("--user", help="mine as this user (cases; default: a superuser)")
        parser.add_argument("--save", action="store_true", help="store the run (cases)")
        parser.add_argument("--top", type=int, default=10)
        parser.add_argument("--recent-days", type=int, default=mining.Weights.recent_days)
        parser.add_argument("--markdown", type=Path, help="also write the table to this file")

    def handle(self, *args, **options):
        if options["top"] < 1:
            raise CommandError("--top must be at least 1.")
        if options["recent_days"] < 1:
            raise CommandError("--recent-days must be at least 1.")
        weights = mining.Weights(recent_days=options["recent_days"])
        started = clock.now()
        if options["csv"] is not None:
            docs, skipped, source = self._csv_docs(options)
        else:
            docs, skipped, source = self._case_docs(options, weights)
        groups = mining.mine(docs, weights, top=options["top"])
        seconds = (clock.now() - started).total_seconds()
        self.stdout.write(
            f"{len(docs)} messages ({skipped} skipped), {len(groups)} groups shown, {seconds:.1f} s"
        )
        lines = table(groups)
        for line in lines:
            self.stdout.write(line)
        if options["markdown"]:
            command = "manage.py mine_topics " + " ".join(shlex.quote(a) for a in sys.argv[2:])
            write_markdown(
                options["markdown"],
                command=command,
                source=source,
                docs=docs,
                skipped=skipped,
                lines=lines,
                weights=weights,
                seconds=seconds,
            )
            self.stdout.write(f"written to {options['markdown']}")

    def _csv_docs(self, options):
        text_cols = [c.strip() for c in options["text_cols"].split(",") if c.strip()]
        if not text_cols:
            raise CommandError("--text-cols: name at least one text column (the title first).")
        if not options["time_col"]:
            raise CommandError("--time-col: name the time column.")
        path: Path = options["csv"]
        header = _header(path)
        columns = {}
        for key, default in DEFAULT_COLUMNS.items():
            given = options[key]
            columns[key] = given if given is not None else (default if default in header else "")
        try:
            docs, skipped = csvdocs.read_docs(
                path, text_cols=text_cols, time_col=options["time_col"], **columns
            )
        except csvdocs.CsvError as exc:
            raise CommandError(str(exc)) from None
        return docs, skipped, path.name

    def _case_docs(self, options, weights):
        area = Area.objects.filter(code=options["area"]).first()
        if area is None:
            raise CommandError(f"--area: no area with code {options['area']}.")
        users = get_user_model().objects
        user = (
            users.filter(username=options["user"]).first()
            if options["user"]
            else users.filter(is_superuser=True, is_active=True).order_by("pk").first()
        )
        if user is None:
            raise CommandError("--user: no such user (or no superuser to mine as).")
        until = _day(options["until"], "--until") or clock.today() + dt.timedelta(days=1)
        since = _day(options["since"], "--since") or until - dt.timedelta(days=90)
        since_at = timezone.make_aware(dt.datetime.combine(since, dt.time()))
        until_at = timezone.make_aware(dt.datetime.combine(until, dt.time()))
        if options["save"]:
            try:
                run = services.run_mining(
                    actor=user, area=area, since=since_at, until=until_at, weights=weights
                )
            except ServiceError as exc:
                raise CommandError(f"{exc.field or 'error'}: {exc.message}") from None
            self.stdout.write(f"saved mining run {run.pk} ({run.candidates.count()} candidates)")
        docs = selectors.mining_docs(user, area=area, since=since_at, until=until_at)
        return docs, 0, f"{area.name} ({area.code}) {since}–{until}"


def _header(path: Path) -> list[str]:
    import csv

    if not path.is_file():
        raise CommandError(f"--csv: no such file: {path}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def _day(value: str | None, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: give a date as YYYY-MM-DD.") from None


def table(groups: list[mining.Group]) -> list[str]:
    """A Markdown table of the groups, one row each."""
    lines = [
        "| # | key phrases | place | from | to | messages | V | G | R | U | score | one-line description |",
        "| ---: | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for rank, g in enumerate(groups, start=1):
        cells = [
            str(rank),
            "、".join(g.key_phrases[:4]),
            g.place or "—",
            f"{timezone.localtime(g.first_at):%Y-%m-%d}",
            f"{timezone.localtime(g.last_at):%Y-%m-%d}",
            str(g.size),
            f"{g.volume:.1f}",
            f"{g.growth:.2f}",
            f"{g.repeat_rate:.2f}",
            f"{g.unresolved:.2f}",
            f"{g.score:.1f}",
            g.description.replace("|", "/"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_markdown(path: Path, *, command, source, docs, skipped, lines, weights, seconds) -> None:
    first = min((d.at for d in docs), default=None)
    last = max((d.at for d in docs), default=None)
    span = (
        f"{timezone.localtime(first):%Y-%m-%d} – {timezone.localtime(last):%Y-%m-%d}"
        if docs
        else "—"
    )
    text = [
        "# Topic mining on real messages: the top hot problems",
        "",
        "Produced by the command below (from the project root, with the virtualenv's Python);",
        "how groups are formed and ranked is in [insights.md](insights.md#topic-mining).",
        "",
        "```sh",
        f".venv/bin/python {command}",
        "```",
        "",
        f"- Source: `{source}`: {len(docs)} messages ({skipped} skipped for an unreadable time), "
        f"{span}.",
        f"- Score = V × G × R × U: V = Σ heat (1 + ln(1 + likes + dislikes)), G = growth over the "
        f"last {weights.recent_days} days of the data against the group's own earlier rate "
        f"(clamped to {weights.growth_min}–{weights.growth_max}), R = 1 + share of messages from "
        "users with another message in the group, U = 1 (the CSV has no outcomes).",
        f"- Run time: {seconds:.1f} s on the development machine (2 shared cores).",
        "",
        *lines,
        "",
    ]
    path.write_text("\n".join(text), encoding="utf-8")
