"""Resolve a point or an address to its grid and the grid's chain, printed as JSON."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from civicgrid.areas import locator
from civicgrid.areas.choices import GridLayer


class Command(BaseCommand):
    help = "locate LAT LON, or locate --address TEXT: print the grid, community, street, district."

    def add_arguments(self, parser):
        parser.add_argument("lat", nargs="?", type=float)
        parser.add_argument("lon", nargs="?", type=float)
        parser.add_argument("--address", help="Match a building address instead of a point.")
        parser.add_argument("--layer", default=GridLayer.SERVICE, choices=GridLayer.values)
        parser.add_argument(
            "--tolerance", type=float, help="Gap tolerance in metres (default from settings)."
        )

    def handle(self, *args, lat, lon, address, layer, tolerance, **options):
        if address:
            if lat is not None or lon is not None:
                raise CommandError("Give either LAT LON or --address, not both.")
            found = locator.locate_address(address, layer=layer)
        elif lat is not None and lon is not None:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise CommandError("LAT must be within ±90 and LON within ±180.")
            found = locator.locate(lat, lon, layer=layer, tolerance_m=tolerance)
        else:
            raise CommandError("Give LAT LON, or --address TEXT.")
        self.stdout.write(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
