from django import forms


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"})
    )
    wave = forms.CharField(label="As a new wave (optional)", required=False, max_length=100,
                           help_text="e.g. 2026 Q4: every response in the file is marked with it (its wave column), "
                                     "the current model suggests them at once, Insights compares waves",
                           widget=forms.TextInput(attrs={"placeholder": "wave name"}))
