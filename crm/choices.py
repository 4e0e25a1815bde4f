"""Enumerations of crm."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    INDIVIDUAL = "individual", _("个人客户")
    CORPORATE = "corporate", _("对公客户")


class CustomerStatus(models.TextChoices):
    FORMAL = "formal", _("正式客户")
    POTENTIAL = "potential", _("潜在客户")


class ArchiveType(models.TextChoices):
    NONE = "", _("未建档")
    FARM_HOUSEHOLD = "farm_household", _("农户")
    MERCHANT = "merchant", _("商户")
    MICRO_ENTERPRISE = "micro_enterprise", _("小微企业")


class IdType(models.TextChoices):
    """Identity documents (TK-3 lists the same personal ones)."""

    RESIDENT_ID = "resident_id", _("居民身份证")
    PASSPORT = "passport", _("护照")
    HK_MACAU_PERMIT = "hk_macau_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    FOREIGN_PERMANENT = "foreign_permanent", _("外国人永久居留身份证")
    CREDIT_CODE = "credit_code", _("统一社会信用代码")
    OTHER = "other", _("其他证件")


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")
    UNKNOWN = "", _("未知")


class GeocodeStatus(models.TextChoices):
    PENDING = "pending", _("待解析")
    MATCHED = "matched", _("已定位")
    LOW_CONFIDENCE = "low_confidence", _("待核实")
    FAILED = "failed", _("无法解析")
    MANUAL = "manual", _("人工纠偏")
    PROVIDED = "provided", _("导入坐标")


class ProductCategory(models.TextChoices):
    DEPOSIT = "deposit", _("存款")
    LOAN = "loan", _("贷款")
    WEALTH = "wealth", _("理财")
    CARD = "card", _("银行卡")
    INSURANCE = "insurance", _("保险")
    PAYMENT = "payment", _("支付结算")
    OTHER = "other", _("其他")


class TagKind(models.TextChoices):
    MANUAL = "manual", _("手工标签")
    RULE = "rule", _("规则标签")


class FieldType(models.TextChoices):
    """Types of fields in list templates and archive collection templates."""

    TEXT = "text", _("文本")
    INTEGER = "integer", _("整数")
    DECIMAL = "decimal", _("小数")
    DATE = "date", _("日期")
    CHOICE = "choice", _("单选")
    MULTI_CHOICE = "multi_choice", _("多选")
    BOOLEAN = "boolean", _("是/否")
    PHONE = "phone", _("手机号")
    ID_NUMBER = "id_number", _("身份证号")
    ADDRESS = "address", _("地址")
    LNG = "lng", _("经度")
    LAT = "lat", _("纬度")


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("已预览")
    COMMITTING = "committing", _("提交中")
    COMMITTED = "committed", _("已提交")
    GEOCODING = "geocoding", _("定位中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    DISCARDED = "discarded", _("已放弃")


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("全部正确才提交")
    VALID_ROWS = "valid_rows", _("仅提交正确行")
    ACCEPTED_ROWS = "accepted_rows", _("仅提交选中行")


class Visibility(models.TextChoices):
    PRIVATE = "private", _("私有")
    PUBLIC = "public", _("公开")


class ApprovalStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")


class ReminderKind(models.TextChoices):
    BIRTHDAY = "birthday", _("生日")
    FESTIVAL = "festival", _("节日")
    BALANCE_CHANGE = "balance_change", _("大额变动")
    MATURITY = "maturity", _("产品到期")
    OVERDUE = "overdue", _("逾期")
    CUSTOM = "custom", _("自定义日期")


class ReminderStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    DONE = "done", _("已处理")
