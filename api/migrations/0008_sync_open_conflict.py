from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """At most one OPEN conflict per draft field path (sync-protocol.md §8.4 extends the open one): a partial
    unique index, which PostgreSQL and SQLite both support and the ORM cannot declare."""

    dependencies = [('models', '0007_sync')]

    initial = False

    operations = [
        ops.RunSQL(
            "CREATE UNIQUE INDEX draft_conflict_one_open_per_path ON draft_conflict (draft_id, path) "
            "WHERE status = 'OPEN'",
            reverse_sql="DROP INDEX draft_conflict_one_open_per_path",
        ),
    ]
