from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """At most one live (CREATED or PAYING) payment attempt per bill: a partial unique index, which PostgreSQL
    and SQLite both support and the ORM cannot declare."""

    dependencies = [('models', '0005_payments')]

    initial = False

    operations = [
        ops.RunSQL(
            "CREATE UNIQUE INDEX payment_order_one_live_per_bill ON payment_order (bill_id) "
            "WHERE status IN ('CREATED', 'PAYING')",
            reverse_sql="DROP INDEX payment_order_one_live_per_bill",
        ),
    ]
