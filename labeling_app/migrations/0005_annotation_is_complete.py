from django.db import migrations, models


def bulk_accepted_are_partial(apps, schema_editor):
    Annotation = apps.get_model("labeling_app", "Annotation")
    Annotation.objects.filter(source="suggestion").update(is_complete=False)


class Migration(migrations.Migration):
    dependencies = [("labeling_app", "0004_annotation_needs_recoding")]

    operations = [
        migrations.AddField(model_name="annotation", name="is_complete", field=models.BooleanField(default=True)),
        migrations.RunPython(bulk_accepted_are_partial, migrations.RunPython.noop),
    ]
