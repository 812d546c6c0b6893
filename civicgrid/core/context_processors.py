from django.conf import settings

from civicgrid.core.scoping import scope_of


def civicgrid(request):
    user = getattr(request, "user", None)
    return {
        "scope": scope_of(user),
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }
