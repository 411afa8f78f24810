from growth.core.errors import Conflict, Invalid, NotFound


class LeadNotFound(NotFound):
    pass


class InvalidLead(Invalid):
    pass


class LeadAlreadyRegistered(Conflict):
    """Another partner holds this prospect (which one is not said)."""


class ProspectIsCustomer(Conflict):
    """The e-mail belongs to a customer: a customer is not a prospect."""
