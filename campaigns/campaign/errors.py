from growth.core.errors import Conflict, DomainError, Invalid, NotFound


class CampaignNotFound(NotFound):
    pass


class IllegalStatusChange(Conflict):
    pass


class InvalidCampaign(Invalid):
    pass


class InvalidRiskSettings(DomainError):
    """A campaign's ``risk`` names an unknown setting or gives one a value it cannot take (400)."""
