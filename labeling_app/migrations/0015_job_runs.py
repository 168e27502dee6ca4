# One set of job fields for imports, discovery runs and retrains (labeling_app.models.jobs.JobRun).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('labeling_app', '0014_outbox'),
    ]

    operations = [
        migrations.RenameField(model_name='modelversion', old_name='error', new_name='message'),
        migrations.AddField(
            model_name='discoveryrun',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='discoveryrun',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='importjob',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='modelversion',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='modelversion',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
