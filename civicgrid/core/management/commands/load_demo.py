"""manage.py load_demo: the demo district (成都市金牛区 by default). See docs/demo.md."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from civicgrid.demo.catalogue import DemoDataError
from civicgrid.demo.generator import DemoError, DemoOptions, default_data_dir, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo district: its real streets from the national division codes, and "
        "generated communities, grids, buildings, households, residents, places, facilities, "
        "organisations, grid workers and one login per role. Safe to run again: only the "
        "streets not built yet are built."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=float,
            default=0.05,
            help="Households per grid as a share of the real figure (1.0 = about 535 per "
            "grid, 0.05 = about 27). Default 0.05.",
        )
        parser.add_argument(
            "--district", default="510106", help="6-digit district code (default 510106)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help=f"The national division code CSVs (default {default_data_dir()}).",
        )
        parser.add_argument(
            "--streets",
            type=int,
            default=None,
            help="Build only the first N streets, by code (quick tries and tests).",
        )
        parser.add_argument(
            "--cases",
            type=int,
            default=240,
            help="Cases in the generated 60-day history (default 240; 0: none).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="First delete everything below street level in the district (the demo "
            "communities, grids and registry, and whatever else was added there).",
        )

    def handle(self, *args, **options):
        demo = DemoOptions(
            district=options["district"],
            scale=options["scale"],
            seed=options["seed"],
            data_dir=options["data_dir"],
            streets=options["streets"],
            reset=options["reset"],
            cases=options["cases"],
        )
        verbose = options["verbosity"] >= 1
        log = self.stdout.write if verbose else None
        try:
            result = load_demo(demo, log=log)
        except (DemoError, DemoDataError) as exc:
            raise CommandError(str(exc)) from None
        if not verbose:
            return
        if not result.built and not result.reset:
            done = "refreshed its logins" if result.logins_refreshed else "nothing to do"
            self.stdout.write(
                f"The demo of {result.district} is already loaded: {done} "
                "(use --reset to rebuild it)."
            )
        width = max(len(name) for name in result.counts)
        self.stdout.write(f"\n{result.district}:")
        for name, value in result.counts.items():
            self.stdout.write(f"  {name:<{width}}  {value:>10,}")
        self.stdout.write(self.style.SUCCESS(f"Done in {result.seconds:.1f} s."))
