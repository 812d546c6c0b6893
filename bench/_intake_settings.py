"""Settings of the server bench/intake.py starts: the product's, plus the bench-only bare
endpoint (bench/_intake_urls.py). Never used by the product."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench._intake_urls"
