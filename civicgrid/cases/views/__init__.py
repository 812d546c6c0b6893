"""Case pages, split by who uses them: intake (hotline, patrol), the console and the case page
(dispatchers, units, operators), whistles, and the public pages without login."""
