from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("12345 hotline")
    WEB = "web", _("Web")
    MOBILE = "mobile", _("Mobile")
    PATROL = "patrol", _("Grid patrol")
    MEETING = "meeting", _("Community meeting")
    WISH_BOX = "wish_box", _("Wish box")
    PARTNER = "partner", _("Partner system")
    DEVICE = "device", _("Device alert")
    # 未诉先办: work the platform starts itself (a topic or a hotspot), with no complainant.
    PROACTIVE = "proactive", _("Proactive task")


class Kind(models.TextChoices):
    INQUIRY = "inquiry", _("Inquiry")
    HELP = "help", _("Help")
    COMPLAINT = "complaint", _("Complaint")
    REPORT = "report", _("Report")
    SUGGESTION = "suggestion", _("Suggestion")
    PRAISE = "praise", _("Praise")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class Complexity(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary")
    COMPLEX = "complex", _("Complex")


class State(models.TextChoices):
    """Case states. Only cases/workflow.py decides which action leads where."""

    RECEIVED = "received", _("Received")
    DISPATCHED = "dispatched", _("Dispatched")
    ACCEPTED = "accepted", _("In progress")
    RETURNED = "returned", _("Returned")
    SUSPENDED = "suspended", _("Suspended")
    RESOLVED = "resolved", _("Resolved")
    CALLBACK_DONE = "callback_done", _("Callback done")
    CLOSED = "closed", _("Closed")
    MERGED = "merged", _("Merged")
    INVALID = "invalid", _("Closed as invalid")


class Action(models.TextChoices):
    RECEIVE = "receive", _("Receive")
    DISPATCH = "dispatch", _("Dispatch")
    REASSIGN = "reassign", _("Reassign")
    ACCEPT = "accept", _("Accept")
    RETURN = "return", _("Return")
    RULE = "rule", _("Rule on return")
    REQUEST_EXTENSION = "request_extension", _("Request extension")
    APPROVE_EXTENSION = "approve_extension", _("Approve extension")
    REFUSE_EXTENSION = "refuse_extension", _("Refuse extension")
    SUSPEND = "suspend", _("Suspend")
    RESUME = "resume", _("Resume")
    SUPERVISE = "supervise", _("Supervise")
    ADD_CO_HANDLER = "add_co_handler", _("Add co-handler")
    CO_HANDLER_REPLY = "co_handler_reply", _("Co-handler reply")
    RESOLVE = "resolve", _("Resolve")
    CALLBACK = "callback", _("Callback")
    REOPEN = "reopen", _("Reopen")
    CLOSE = "close", _("Close")
    MERGE = "merge", _("Merge")
    INVALIDATE = "invalidate", _("Close as invalid")
    COMMENT = "comment", _("Comment")
    WHISTLE = "whistle", _("Blow the whistle")
    REPORT_IN = "report_in", _("Report in")
    DEADLINE = "deadline", _("Deadline status")


class ReturnReason(models.TextChoices):
    WRONG_AREA = "wrong_area", _("Not in our area (属地不符)")
    UNCLEAR_OWNERSHIP = "unclear_ownership", _("Ownership unclear (权属不清)")
    OVERLAPPING_DUTIES = "overlapping_duties", _("Overlapping duties (职能交叉)")
    OTHER = "other", _("Other")


class DeadlineStatus(models.TextChoices):
    ON_TIME = "on_time", _("On time")
    NEAR_DUE = "near_due", _("Near due")
    OVERDUE = "overdue", _("Overdue")


class TimeUnit(models.TextChoices):
    HOURS = "hours", _("Hours")
    WORKING_DAYS = "working_days", _("Working days")
    CALENDAR_DAYS = "calendar_days", _("Calendar days")


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class CallbackMethod(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WEB = "web", _("Web (by the resident)")
    VISIT = "visit", _("Visit")


class Solved(models.TextChoices):
    SOLVED = "solved", _("Solved")
    PARTLY = "partly", _("Partly solved")
    NOT_SOLVED = "not_solved", _("Not solved")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASIC = "basic", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")
    NO_ANSWER = "no_answer", _("No answer")


class HandlerRole(models.TextChoices):
    LEAD = "lead", _("Lead unit (主办)")
    CO = "co", _("Co-handling unit (协办)")


class SummonsStatus(models.TextChoices):
    PENDING = "pending", _("Summoned")
    REPORTED = "reported", _("Reported in")
    LATE = "late", _("Reported in late")
    ABSENT = "absent", _("Absent")


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", _("In-app")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Webhook")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
