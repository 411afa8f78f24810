from growth.core.errors import Conflict, Invalid, NotFound


class CampaignNotFound(NotFound):
    pass


class IllegalStatusChange(Conflict):
    pass


class InvalidCampaign(Invalid):
    pass
