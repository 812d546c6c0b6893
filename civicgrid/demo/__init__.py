"""The demo district: real divisions from the national codes, generated everything below them.

Plain Python, not a Django app: it owns no models. `generator.load_demo` writes through the
areas services and bulk inserts into the registry; `manage.py load_demo` and
`manage.py demo_logins` (in civicgrid.core) are its front doors. Names, places, rates and
counts come from the JSON files in `data/`, never from the code.
"""
