from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

from labeling_app.models import Project, Role, Theme
from labeling_app.services.themes import theme_shortcut_check


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "question", "labeling_batch_size"]
        widgets = {"question": forms.Textarea(attrs={"rows": 2})}


class ProjectSettingsForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "question", "labeling_batch_size", "active_learning_strategy", "score_higher_is_better"]
        widgets = {"question": forms.Textarea(attrs={"rows": 2})}
        labels = {"labeling_batch_size": "Labeling batch size", "active_learning_strategy": "Which responses first",
                  "score_higher_is_better": "A higher score is better"}
        help_texts = {"score_higher_is_better": "Untick where a lower score is better (e.g. NHS FFT: 1 = very good): "
                                                "Insights then colour drivers by whether they make the score better "
                                                "or worse."}

    def clean_labeling_batch_size(self) -> int:
        size = self.cleaned_data["labeling_batch_size"]
        if not 1 <= size <= 200:
            raise forms.ValidationError("between 1 and 200")
        return size


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"})
    )


class ThemeForm(forms.ModelForm):
    colour = forms.RegexField(r"^#[0-9a-fA-F]{6}$", widget=forms.TextInput(attrs={"type": "color"}))
    shortcut = forms.RegexField(r"^[0-9a-z]?$", required=False, max_length=1)
    order = forms.IntegerField(required=False, min_value=0)

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


class InvitationForm(forms.Form):
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANALYST)


class OverlapForm(forms.Form):
    """Blind double coding: what share of responses several analysts code, how many, and who takes part."""

    percent = forms.FloatField(min_value=0, max_value=100, label="Share of responses coded blind (%)")
    coders = forms.TypedChoiceField(choices=[(2, "2 analysts"), (3, "3 analysts")], coerce=int,
                                    label="Coded by")
    participants = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                             label="Analysts taking part")

    def __init__(self, *args: object, members: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["participants"].choices = [(str(pk), name) for pk, name in members]  # type: ignore[attr-defined]
