from growth.core.errors import Conflict, Invalid, NotFound


class SubmissionNotFound(NotFound):
    pass


class InvalidPostUrl(Invalid):
    pass


class UnsupportedPlatform(Invalid):
    pass


class InvalidDecision(Invalid):
    pass


class NotASocialShareCampaign(Conflict):
    pass


class CampaignNotActive(Conflict):
    pass


class SharesAreForCustomers(Conflict):
    """A partner's code: posts are submitted by customers."""


class PostAlreadySubmitted(Conflict):
    pass


class SubmissionAlreadyOpen(Conflict):
    """The customer has a post in review or approved in this campaign (one sample per customer)."""


class SubmissionAlreadyDecided(Conflict):
    pass


class NothingSelected(Invalid):
    """A batch decision without any post ticked."""
