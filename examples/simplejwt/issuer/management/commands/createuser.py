"""manage.py createuser USERNAME: create (or reset the password of) a
regular user that can log in at /api/token/.

The password comes from --password, else $EXAMPLE_USER_PASSWORD, else a
prompt."""
import getpass
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create a user of the example issuer, or reset its password"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="the password (default: $EXAMPLE_USER_PASSWORD, else a prompt)")

    def handle(self, *args, username, password=None, **options):
        password = password or os.environ.get("EXAMPLE_USER_PASSWORD")
        if not password:
            password = getpass.getpass(f"Password for {username}: ")
        if not password:
            raise CommandError("empty password")
        user, created = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        verb = "created" if created else "updated"
        self.stdout.write(f"{verb} user {username} (user_id {user.pk})")
