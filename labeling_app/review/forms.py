from django import forms


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
