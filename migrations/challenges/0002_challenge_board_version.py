from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("challenges", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="challenge",
            name="board_version",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
