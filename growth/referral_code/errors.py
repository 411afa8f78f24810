from growth.core.errors import Conflict, Invalid, NotFound


class ReferralCodeNotFound(NotFound):
    pass


class CampaignUnavailable(NotFound):
    pass


class CampaignEnded(Conflict):
    pass


class VanityCodeTaken(Conflict):
    pass


class ReferrerHasCode(Conflict):
    pass


class InvalidVanityCode(Invalid):
    pass
