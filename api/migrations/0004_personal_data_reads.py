from tortoise import migrations
from tortoise.migrations import operations as ops
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_applications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PersonalDataRead',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('reader_operator_id', fields.UUIDField(db_index=True)),
                ('subject_type', fields.CharField(max_length=20)),
                ('subject_id', fields.UUIDField(db_index=True)),
                ('person_id', fields.UUIDField(null=True, db_index=True)),
                ('enterprise_id', fields.UUIDField(null=True)),
                ('purpose', fields.CharField(max_length=32)),
                ('read_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'personal_data_read', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
