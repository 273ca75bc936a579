"""Import every model so metadata (and Alembic) sees the whole schema."""

from .accounts.models import LoginSession, LoginUnlock, RoleGrant, User  # noqa: F401
from .api.models import ApiToken  # noqa: F401
from .audit.models import AuditEvent  # noqa: F401
from .awards.models import Award, Milestone, Payment, Report, SignOff  # noqa: F401
from .calls.models import Call, CallVersion, Criterion, Opening  # noqa: F401
from .jobs.models import BulkJob  # noqa: F401
from .mail.models import OutboxMail  # noqa: F401
from .mailtemplates.models import MailTemplate  # noqa: F401
from .offices.models import Office  # noqa: F401
from .outcomes.models import IndicatorValue, ReportText  # noqa: F401
from .parking.models import ParkedPost  # noqa: F401
from .privacy.models import Anonymisation  # noqa: F401
from .proposals.models import Attachment, Clarification, Proposal  # noqa: F401
from .ranking.models import ProposalScore, Standstill  # noqa: F401
from .reviews.models import ConflictDeclaration, NeutralityDeclaration, Review, ReviewDecline, ReviewScore  # noqa: F401
