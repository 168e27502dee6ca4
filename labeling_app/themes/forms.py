from django import forms
from django.core.exceptions import ValidationError

from labeling_app.themes.models import Theme
from labeling_app.themes.services.themes import theme_shortcut_check


class ThemeForm(forms.ModelForm):
    colour = forms.RegexField(r"^#[0-9a-fA-F]{6}$", widget=forms.TextInput(attrs={"type": "color"}))
    shortcut = forms.RegexField(r"^[0-9a-z]?$", required=False, max_length=1)
    order = forms.IntegerField(required=False, min_value=0)
    # A net's name (made when new), or blank for none: typed, with the project's nets offered (a datalist).
    net = forms.CharField(required=False, max_length=120,
                          widget=forms.TextInput(attrs={"list": "net-names", "placeholder": "Net", "size": 14}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if self.instance.pk and self.instance.net_id:
            self.initial.setdefault("net", self.instance.net.name)

    class Meta:
        model = Theme
        fields = ["name", "description", "colour", "shortcut", "order"]
        widgets = {"description": forms.TextInput()}

    def clean(self) -> dict:
        # The same check as the service, so an edit names the theme holding the key instead of
        # the model's raw constraint message (a field with an error skips that constraint).
        super().clean()
        data = self.cleaned_data
        if self.instance.project_id and data.get("shortcut") and not self.instance.archived:
            try:
                theme_shortcut_check(project_id=self.instance.project_id, shortcut=data["shortcut"],
                                     theme_id=self.instance.pk)
            except ValidationError as exc:
                self.add_error("shortcut", exc.message_dict["shortcut"])
        return data
