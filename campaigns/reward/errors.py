from growth.core.errors import Conflict, Invalid, NotFound


class RewardNotFound(NotFound):
    pass


class RewardRuleNotFound(NotFound):
    pass


class InvalidRewardRule(Invalid):
    pass


class NoWelcomeReward(Conflict):
    """The campaign gives no welcome coupon (or is not running)."""


class WelcomeNotAllowed(Conflict):
    """The customer cannot take a welcome reward through this code (own code, not new, budget)."""


class NoShareReward(Conflict):
    pass


class RewardNotAwaitingAddress(Conflict):
    pass


class CouponNotFound(NotFound):
    pass


class RewardNotWaitingForStock(Conflict):
    """Only a gift pack waiting for its restock can be taken as store credit instead."""


class StoreCreditNotAvailable(Conflict):
    """The store credit cannot be granted now (budget, cap, no value): the reward keeps waiting."""
