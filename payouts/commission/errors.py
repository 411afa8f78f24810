from growth.core.errors import Conflict, Invalid, NotFound


class CommissionPlanNotFound(NotFound):
    pass


class InvalidPlan(Invalid):
    pass


class NoPlan(Conflict):
    pass
