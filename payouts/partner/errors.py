from growth.core.errors import Conflict, Invalid, NotFound


class PartnerNotFound(NotFound):
    pass


class PartnerNotApproved(Conflict):
    pass


class InvalidPartner(Invalid):
    pass
