from typing import Any

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator

from labeling_app.projects.models import Project, Role


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "question", "labeling_batch_size"]
        widgets = {"question": forms.Textarea(attrs={"rows": 2})}


class ProjectSettingsForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "question", "labeling_batch_size", "active_learning_strategy", "score_higher_is_better",
                  "sentiment_levels"]
        widgets = {"question": forms.Textarea(attrs={"rows": 2})}
        labels = {"labeling_batch_size": "Labeling batch size", "active_learning_strategy": "Which responses first",
                  "score_higher_is_better": "A higher score is better", "sentiment_levels": "Sentiment"}
        help_texts = {"score_higher_is_better": "Untick where a lower score is better (e.g. NHS FFT: 1 = very good): "
                                                "Insights then colour drivers by whether they make the score better "
                                                "or worse.",
                      "sentiment_levels": "Analysts mark each response's sentiment beside its themes (1 = most "
                                          "positive); the model learns it in the same retrain and suggests it."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sentiment_levels"].required = False  # a form posted without it keeps the project's scale

    def clean_sentiment_levels(self) -> int:
        value = self.cleaned_data.get("sentiment_levels")
        return self.instance.sentiment_levels if value in (None, "") else int(value)

    def clean_labeling_batch_size(self) -> int:
        size = self.cleaned_data["labeling_batch_size"]
        if not 1 <= size <= 200:
            raise forms.ValidationError("between 1 and 200")
        return size


class InvitationForm(forms.Form):
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANALYST)
