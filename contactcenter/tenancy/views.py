import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contactcenter.tenancy.models import UserPreference


class PreferenceForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        choices=(),
        required=False,
        help_text=gettext_lazy("Times are shown in this zone. Empty: your client company's zone."),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=[("", gettext_lazy("As my browser asks")), *settings.LANGUAGES],
        required=False,
    )

    class Meta:
        model = UserPreference
        fields = ["time_zone", "language"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        self.fields["time_zone"].choices = [
            ("", _("My client company's time zone")),
            *((zone, zone) for zone in zones),
        ]


@login_required
def preferences(request):
    """The signed-in user's own display preferences; nobody else's can be reached from here."""
    preference = UserPreference.objects.filter(user=request.user).first() or UserPreference(
        user=request.user
    )
    form = PreferenceForm(request.POST if request.method == "POST" else None, instance=preference)
    if request.method == "POST" and form.is_valid():
        preference = form.save()
        if preference.language:
            translation.activate(preference.language)
        messages.success(request, _("Your preferences are saved."))
        return redirect("tenancy:preferences")
    return render(request, "tenancy/preferences.html", {"title": _("Preferences"), "form": form})
