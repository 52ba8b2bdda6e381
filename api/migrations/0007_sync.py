from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.sync import AttachmentStatus, BlobStatus, ConflictStatus, DraftStatus, Platform, SyncMutationStatus
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_payment_live_order')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Blob',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('space_id', fields.CharField(max_length=40)),
                ('sha256', fields.CharField(max_length=64)),
                ('storage_key', fields.CharField(max_length=255)),
                ('size', fields.BigIntField()),
                ('mime', fields.CharField(max_length=100)),
                ('status', fields.CharEnumField(description='COMPLETE: COMPLETE\nREJECTED: REJECTED', enum_type=BlobStatus, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'blob', 'app': 'models', 'unique_together': (('space_id', 'sha256'),), 'pk_attr': 'id', 'table_description': 'A verified file, content-addressed per space only, so no space learns what another holds.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Draft',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('space_id', fields.CharField(max_length=40)),
                ('service_code', fields.CharField(max_length=64)),
                ('form_version', fields.CharField(max_length=64)),
                ('required_form_version', fields.CharField(null=True, max_length=64)),
                ('status', fields.CharEnumField(default=DraftStatus.EDITING, description='EDITING: EDITING\nSUBMITTED: SUBMITTED\nDELETED: DELETED\nCORRECTION: CORRECTION', enum_type=DraftStatus, max_length=12)),
                ('status_before_delete', fields.CharEnumField(null=True, description='EDITING: EDITING\nSUBMITTED: SUBMITTED\nDELETED: DELETED\nCORRECTION: CORRECTION', enum_type=DraftStatus, max_length=12)),
                ('version', fields.BigIntField()),
                ('created_version', fields.BigIntField()),
                ('content_hash', fields.CharField(max_length=64)),
                ('application_id', fields.UUIDField(null=True)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('restorable_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'draft', 'app': 'models', 'indexes': [Index(fields=['space_id', 'version', 'id'])], 'pk_attr': 'id', 'table_description': '草稿: id is the UUIDv7 the client generated. version is the space version of its last pulled change.'},
            bases=['Entity'],
        ),
        ops.CreateModel(
            name='DraftBlobRef',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('draft_id', fields.UUIDField()),
                ('path', fields.CharField(max_length=256)),
                ('sha256', fields.CharField(db_index=True, max_length=64)),
            ],
            options={'table': 'draft_blob_ref', 'app': 'models', 'unique_together': (('draft_id', 'path'),), 'pk_attr': 'id', 'table_description': 'The blob a file field references, kept in step with the field, so a blob status change finds its drafts.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DraftConflict',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('draft_id', fields.UUIDField()),
                ('path', fields.CharField(max_length=256)),
                ('status', fields.CharEnumField(default=ConflictStatus.OPEN, description='OPEN: OPEN\nRESOLVED: RESOLVED', enum_type=ConflictStatus, max_length=8)),
                ('opened_version', fields.BigIntField()),
                ('resolved_version', fields.BigIntField(null=True)),
            ],
            options={'table': 'draft_conflict', 'app': 'models', 'indexes': [Index(fields=['draft_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A concurrent edit kept for a person to resolve. At most one OPEN per path (migration 0008).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DraftConflictCandidate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('conflict_id', fields.UUIDField(db_index=True)),
                ('client_id', fields.UUIDField()),
                ('platform', fields.CharEnumField(null=True, description='APP_IOS: APP_IOS\nAPP_ANDROID: APP_ANDROID\nWECHAT_MP: WECHAT_MP\nALIPAY_MP: ALIPAY_MP\nWEB: WEB', enum_type=Platform, max_length=12)),
                ('mutation_id', fields.IntField()),
                ('value', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('value_hash', fields.CharField(max_length=64)),
                ('client_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'draft_conflict_candidate', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A losing value of a conflict, with who wrote it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DraftField',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('draft_id', fields.UUIDField()),
                ('path', fields.CharField(max_length=256)),
                ('value', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('value_hash', fields.CharField(max_length=64)),
                ('version', fields.BigIntField()),
                ('writer_client_id', fields.UUIDField()),
                ('writer_mutation_id', fields.IntField()),
            ],
            options={'table': 'draft_field', 'app': 'models', 'unique_together': (('draft_id', 'path'),), 'indexes': [Index(fields=['draft_id', 'version'])], 'pk_attr': 'id', 'table_description': 'The current value of one path. A cleared field keeps its row with a null value and a new version.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DraftFieldHistory',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('draft_id', fields.UUIDField()),
                ('path', fields.CharField(max_length=256)),
                ('value', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('value_hash', fields.CharField(max_length=64)),
                ('version', fields.BigIntField()),
                ('client_id', fields.UUIDField()),
                ('mutation_id', fields.IntField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'draft_field_history', 'app': 'models', 'indexes': [Index(fields=['draft_id', 'version', 'path'])], 'pk_attr': 'id', 'table_description': 'Append-only, one row per applied field change (draftHistory).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SyncClient',
            fields=[
                ('client_id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('space_id', fields.CharField(db_index=True, max_length=40)),
                ('platform', fields.CharEnumField(description='APP_IOS: APP_IOS\nAPP_ANDROID: APP_ANDROID\nWECHAT_MP: WECHAT_MP\nALIPAY_MP: ALIPAY_MP\nWEB: WEB', enum_type=Platform, max_length=12)),
                ('last_mutation_id', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sync_client', 'app': 'models', 'pk_attr': 'client_id', 'table_description': 'One installation in one space, bound to the space of its first push for good.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SyncMutationResult',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_id', fields.UUIDField()),
                ('mutation_id', fields.IntField()),
                ('status', fields.CharEnumField(description='APPLIED: APPLIED\nAPPLIED_WITH_CONFLICTS: APPLIED_WITH_CONFLICTS\nNOOP: NOOP\nREJECTED: REJECTED', enum_type=SyncMutationStatus, max_length=24)),
                ('result', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('space_version', fields.BigIntField()),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sync_mutation_result', 'app': 'models', 'unique_together': (('client_id', 'mutation_id'),), 'pk_attr': 'id', 'table_description': 'The stored outcome of one processed mutation, committed with its effects, replayed on a resend.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SyncQuarantine',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('space_id', fields.CharField(max_length=40)),
                ('client_id', fields.UUIDField()),
                ('mutation_id', fields.IntField()),
                ('draft_id', fields.UUIDField()),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('reason', fields.CharField(max_length=32)),
                ('message', fields.CharField(max_length=500)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sync_quarantine', 'app': 'models', 'indexes': [Index(fields=['space_id', 'draft_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A permanently rejected mutation with ops, kept where the person sees it until acknowledged or 90 days.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SyncSpace',
            fields=[
                ('space_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('version', fields.BigIntField(default=0)),
                ('epoch', fields.UUIDField()),
                ('min_valid_version', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sync_space', 'app': 'models', 'pk_attr': 'space_id', 'table_description': '同步空间: every write to a space locks this row first, so its version order is commit order.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Upload',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('space_id', fields.CharField(max_length=40)),
                ('sha256', fields.CharField(max_length=64)),
                ('size', fields.BigIntField()),
                ('mime', fields.CharField(max_length=100)),
                ('file_name', fields.CharField(max_length=255)),
                ('chunk_size', fields.IntField()),
                ('chunk_digests', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.CharEnumField(default=AttachmentStatus.PENDING, description='PENDING: PENDING\nCOMPLETE: COMPLETE\nEXPIRED: EXPIRED\nREJECTED: REJECTED', enum_type=AttachmentStatus, max_length=8)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'upload', 'app': 'models', 'indexes': [Index(fields=['space_id', 'sha256'])], 'pk_attr': 'id', 'table_description': 'A resumable upload of one file. chunk_digests maps a chunk index to the SHA-256 of its stored bytes.'},
            bases=['Entity'],
        ),
    ]
