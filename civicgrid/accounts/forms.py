"""Admin forms for the custom user model (Django's default forms name auth.User)."""

from django.contrib.auth import forms as auth_forms

from civicgrid.accounts.models import User


class UserCreationForm(auth_forms.UserCreationForm):
    class Meta(auth_forms.UserCreationForm.Meta):
        model = User
        fields = ("username", "display_name")


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta(auth_forms.UserChangeForm.Meta):
        model = User
        fields = "__all__"
