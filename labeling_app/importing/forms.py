from django import forms


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"})
    )
