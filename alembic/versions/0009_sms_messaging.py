"""sms messaging: outbox, replies, templates, experiments, survey answers

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:25:40.625858

PRM starts sending SMS: the outbox (one row per planned message, never deleted), what
patients answer (SMS replies and one-tap links), the rules' settings and templates that
admins edit, reminder experiments, the post-visit survey's answers, and the expiry of a
social-security referral letter on its coverage.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
import prm.models.types
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Each rule's settings as first installed: offsets in hours (before an appointment or a
# referral's expiry; after a discharge or a visit). The follow-up messages go when the
# worklist item opens (offset 0).
MESSAGE_RULE_DEFAULTS = [
    ("appointment_reminder", [72, 24]),
    ("missed_pickup", [0]),
    ("abnormal_lab", [0]),
    ("discharge_checkin", [48]),
    ("referral_renewal", [336]),
    ("post_visit_survey", [24]),
]

# (rule, variant, Thai, English). No test name, value or diagnosis in any of them: an SMS
# can be read by anyone holding the phone. "reply" texts answer what a patient sent.
TEMPLATE_DEFAULTS = [
    ("appointment_reminder", "A",
     "{hospital_name}: คุณ{given_name} มีนัดที่{clinic} วันที่ {date} เวลา {time} น. "
     "ยืนยันหรือขอเลื่อนนัด: {link} สอบถาม {hospital_phone}",
     "{hospital_name}: Dear {given_name}, you have an appointment at {clinic} on {date} at "
     "{time}. Confirm or reschedule: {link} Questions: {hospital_phone}"),
    ("missed_pickup", "A",
     "{hospital_name}: คุณ{given_name} ยาของท่านรอรับอยู่ที่ห้องยา กรุณามารับ "
     "หรือโทร {hospital_phone}",
     "{hospital_name}: Dear {given_name}, your medicines are waiting at the pharmacy. "
     "Please collect them or call {hospital_phone}."),
    ("abnormal_lab", "A",
     "{hospital_name}: คุณ{given_name} กรุณาติดต่อ{clinic} ที่ {hospital_phone} "
     "ในเวลาทำการ",
     "{hospital_name}: Dear {given_name}, please contact {clinic} on {hospital_phone} "
     "during working hours."),
    ("discharge_checkin", "A",
     "{hospital_name}: คุณ{given_name} ขอให้หายป่วยไวๆ หากมีอาการที่กังวลใจ "
     "โทร {hospital_phone} ได้ตลอด 24 ชม.",
     "{hospital_name}: Dear {given_name}, we hope you are recovering well. If anything "
     "worries you, call {hospital_phone}, day or night."),
    ("referral_renewal", "A",
     "{hospital_name}: คุณ{given_name} หนังสือส่งตัวของท่านหมดอายุวันที่ {date} "
     "กรุณาต่ออายุที่โรงพยาบาลต้นสังกัดก่อนมาครั้งถัดไป",
     "{hospital_name}: Dear {given_name}, your referral letter expires on {date}. Please "
     "renew it at your main hospital before your next visit."),
    ("post_visit_survey", "A",
     "{hospital_name}: ขอบคุณที่มาใช้บริการ{clinic} คุณจะแนะนำเราให้คนที่รู้จักไหม "
     "ให้คะแนน 0-10: {link}",
     "{hospital_name}: Thank you for visiting {clinic}. How likely are you to recommend "
     "us to a friend (0-10)? {link}"),
    ("manual", "call_us",
     "{hospital_name}: คุณ{given_name} กรุณาโทรกลับ{clinic} ที่ {hospital_phone}",
     "{hospital_name}: Dear {given_name}, please call {clinic} back on {hospital_phone}."),
    ("manual", "free_text",
     "{hospital_name}: {text}",
     "{hospital_name}: {text}"),
    ("reply", "confirmed",
     "{hospital_name}: ขอบคุณค่ะ ยืนยันนัด{clinic} วันที่ {date} เวลา {time} น. แล้ว",
     "{hospital_name}: Thank you, your appointment at {clinic} on {date} at {time} is "
     "confirmed."),
    ("reply", "reschedule",
     "{hospital_name}: ได้รับคำขอเลื่อนนัดแล้ว เจ้าหน้าที่จะติดต่อกลับ "
     "สอบถาม {hospital_phone}",
     "{hospital_name}: We have your request to reschedule; we will contact you. "
     "Questions: {hospital_phone}"),
    ("reply", "stopped",
     "{hospital_name}: ยกเลิกการรับ SMS แล้ว จะไม่ส่งข้อความถึงท่านอีก "
     "ส่ง START เพื่อรับอีกครั้ง",
     "{hospital_name}: You will receive no more messages from us. Reply START to receive "
     "them again."),
    ("reply", "started",
     "{hospital_name}: ท่านจะได้รับ SMS แจ้งนัดจากเราอีกครั้ง ส่ง STOP เพื่อยกเลิก",
     "{hospital_name}: You will receive our messages again. Reply STOP to stop them."),
    ("reply", "help",
     "{hospital_name}: ตอบ 1 เพื่อยืนยันนัด 2 เพื่อขอเลื่อน STOP เพื่อยกเลิก SMS "
     "สอบถาม {hospital_phone}",
     "{hospital_name}: Reply 1 to confirm, 2 to reschedule, STOP to stop messages. "
     "Questions: {hospital_phone}"),
    ("reply", "thanks",
     "{hospital_name}: ขอบคุณสำหรับคำตอบค่ะ",
     "{hospital_name}: Thank you for your answer."),
]


def upgrade() -> None:
    op.create_table('message_rule',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('offsets_hours', sa.JSON(), nullable=False),
    sa.Column('segments', sa.JSON(), nullable=False),
    sa.Column('clinic_ids', sa.JSON(), nullable=False),
    sa.Column('updated_at', prm.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('message_experiment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('arms', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('started_at', prm.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', prm.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_experiment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_experiment_rule'), ['rule'], unique=False)

    op.create_table('message_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('variant', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=1600), nullable=False),
    sa.Column('updated_at', prm.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_template', schema=None) as batch_op:
        batch_op.create_index('uq_message_template_rule_language_variant', ['rule', 'language', 'variant'], unique=True)

    op.create_table('outbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('plan_key', sa.String(length=120), nullable=True),
    sa.Column('subject_type', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('worklist_item_id', sa.Integer(), nullable=True),
    sa.Column('segment_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('variant', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=True),
    sa.Column('arm', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('expects_answer', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('send_at', prm.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('to_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=1600), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('encoding', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('provider_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('error_message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('link_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('link_expires_at', prm.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('link_used_at', prm.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', prm.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', prm.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', prm.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', prm.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status_changed_at', prm.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], ),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['experiment_id'], ['message_experiment.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['worklist_item_id'], ['worklist_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_key')
    )
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_message_due', ['status', 'send_at'], unique=False)
        batch_op.create_index('ix_outbound_message_patient', ['patient_id', 'created_at'], unique=False)
        batch_op.create_index('ix_outbound_message_subject', ['subject_type', 'subject_id', 'status'], unique=False)
        batch_op.create_index('ix_outbound_message_to_sent', ['to_number', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_message_worklist_item_id'), ['worklist_item_id'], unique=False)
        batch_op.create_index('uq_outbound_message_link', ['link_token_hash'], unique=True, sqlite_where=sa.text('link_token_hash IS NOT NULL'), postgresql_where=sa.text('link_token_hash IS NOT NULL'))
        batch_op.create_index('uq_outbound_message_provider_sid', ['provider_sid'], unique=True, sqlite_where=sa.text('provider_sid IS NOT NULL'), postgresql_where=sa.text('provider_sid IS NOT NULL'))

    op.create_table('inbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('from_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('to_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=1600), nullable=False),
    sa.Column('received_at', prm.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('in_reply_to_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('worklist_item_id', sa.Integer(), nullable=True),
    sa.Column('handled_at', prm.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('handled_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['handled_by_user_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['in_reply_to_id'], ['outbound_message.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.ForeignKeyConstraint(['worklist_item_id'], ['worklist_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_sid')
    )
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_message_in_reply_to_id'), ['in_reply_to_id'], unique=False)
        batch_op.create_index('ix_inbound_message_patient', ['patient_id', 'received_at'], unique=False)

    op.create_table('survey_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('answered_at', prm.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['outbound_message.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_response_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_response_patient_id'), ['patient_id'], unique=False)

    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_valid_to', sa.Date(), nullable=True))

    _seed_messaging()


def _seed_messaging() -> None:
    rules = sa.table("message_rule", sa.column("code", sa.String),
                     sa.column("enabled", sa.Boolean), sa.column("offsets_hours", sa.JSON),
                     sa.column("segments", sa.JSON), sa.column("clinic_ids", sa.JSON),
                     sa.column("updated_at", prm.models.types.UTCDateTime()))
    now = datetime.now(UTC)
    op.bulk_insert(rules, [dict(code=code, enabled=True, offsets_hours=offsets, segments=[],
                                clinic_ids=[], updated_at=now)
                           for code, offsets in MESSAGE_RULE_DEFAULTS])
    templates = sa.table("message_template", sa.column("rule", sa.String),
                         sa.column("language", sa.String), sa.column("variant", sa.String),
                         sa.column("body", sa.String),
                         sa.column("updated_at", prm.models.types.UTCDateTime()))
    op.bulk_insert(templates, [
        dict(rule=rule, language=language, variant=variant, body=body, updated_at=now)
        for rule, variant, thai, english in TEMPLATE_DEFAULTS
        for language, body in (("th", thai), ("en", english))])


def downgrade() -> None:
    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.drop_column('referral_valid_to')

    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_response_patient_id'))
        batch_op.drop_index(batch_op.f('ix_survey_response_appointment_id'))

    op.drop_table('survey_response')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_message_patient')
        batch_op.drop_index(batch_op.f('ix_inbound_message_in_reply_to_id'))

    op.drop_table('inbound_message')
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index('uq_outbound_message_provider_sid', sqlite_where=sa.text('provider_sid IS NOT NULL'), postgresql_where=sa.text('provider_sid IS NOT NULL'))
        batch_op.drop_index('uq_outbound_message_link', sqlite_where=sa.text('link_token_hash IS NOT NULL'), postgresql_where=sa.text('link_token_hash IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_outbound_message_worklist_item_id'))
        batch_op.drop_index('ix_outbound_message_to_sent')
        batch_op.drop_index('ix_outbound_message_subject')
        batch_op.drop_index('ix_outbound_message_patient')
        batch_op.drop_index('ix_outbound_message_due')

    op.drop_table('outbound_message')
    with op.batch_alter_table('message_template', schema=None) as batch_op:
        batch_op.drop_index('uq_message_template_rule_language_variant')

    op.drop_table('message_template')
    with op.batch_alter_table('message_experiment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_experiment_rule'))

    op.drop_table('message_experiment')
    op.drop_table('message_rule')
