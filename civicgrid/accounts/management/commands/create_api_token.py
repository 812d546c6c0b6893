"""`manage.py create_api_token USERNAME --name NAME`: print a new token's secret, once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from civicgrid.accounts.api import issue_token
from civicgrid.accounts.models import User
from civicgrid.core.errors import ServiceError


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print its secret (it cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="Which system will use the token.")

    def handle(self, *args, username: str, name: str, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        try:
            token, key = issue_token(user, name, actor=None)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"Token {token.name} ({token.prefix}…) for {user.username}:")
        self.stdout.write(key)
