import django.db.models.deletion
from django.db import migrations, models


def layouts_for_finished_runs(apps, schema_editor):
    """Every finished run gets its layout job: done when its map is there, else waiting (a worker's start sends
    pending layouts, see services.jobs.jobs_resume_pending)."""
    DiscoveryRun = apps.get_model("labeling_app", "DiscoveryRun")
    MapLayout = apps.get_model("labeling_app", "MapLayout")
    finished = DiscoveryRun.objects.filter(status="succeeded")
    MapLayout.objects.bulk_create(
        MapLayout(run_id=pk, status="pending" if not bytes(layout) else "succeeded")
        for pk, layout in finished.values_list("pk", "layout").iterator(chunk_size=100))


class Migration(migrations.Migration):

    dependencies = [
        ('labeling_app', '0018_embedding_jobs'),
    ]

    operations = [
        migrations.CreateModel(
            name='MapLayout',
            fields=[
                ('task_id', models.CharField(blank=True, max_length=255)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('message', models.TextField(blank=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('run', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='map_layout', serialize=False, to='labeling_app.discoveryrun')),
                ('status', models.CharField(choices=[('pending', 'Waiting for a worker'), ('running', 'Laying out'), ('succeeded', 'Done'), ('failed', 'Failed')], default='pending', max_length=10)),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.RunPython(layouts_for_finished_runs, migrations.RunPython.noop),
    ]
