"""Codeframes (issue 25): nets above codes, and every code's stable number.

Existing themes get numbers 1, 2, ... per project in the order the project shows them (archived ones after,
as they were made), so a codeframe exported before and after the upgrade lists the same codes."""

import django.db.models.deletion
from django.db import migrations, models


def codes_number(apps, schema_editor):
    Theme = apps.get_model("labeling_app", "Theme")
    by_project: dict[int, int] = {}
    changed = []
    for theme in Theme.objects.order_by("project_id", "archived", "order", "id").only("pk", "project_id"):
        by_project[theme.project_id] = by_project.get(theme.project_id, 0) + 1
        theme.code = by_project[theme.project_id]
        changed.append(theme)
    Theme.objects.bulk_update(changed, ["code"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("labeling_app", "0022_auto_coding"),
    ]

    operations = [
        migrations.CreateModel(
            name="Net",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=120)),
                ("code", models.PositiveIntegerField()),
                ("order", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("project", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="nets",
                                              to="labeling_app.project")),
            ],
            options={"ordering": ["order", "id"]},
        ),
        migrations.AddConstraint(
            model_name="net",
            constraint=models.UniqueConstraint(fields=("project", "name"), name="net_name_unique_in_project"),
        ),
        migrations.AddConstraint(
            model_name="net",
            constraint=models.UniqueConstraint(fields=("project", "code"), name="net_code_unique_in_project"),
        ),
        migrations.AddField(
            model_name="theme",
            name="code",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(codes_number, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="theme",
            name="code",
            field=models.PositiveIntegerField(blank=True),
        ),
        migrations.AddField(
            model_name="theme",
            name="net",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="themes", to="labeling_app.net"),
        ),
        migrations.AddField(
            model_name="theme",
            name="replaced_by",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddConstraint(
            model_name="theme",
            constraint=models.UniqueConstraint(fields=("project", "code"), name="theme_code_unique_in_project"),
        ),
    ]
