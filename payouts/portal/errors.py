from growth.core.errors import DomainError


class PartnerSignInRequired(DomainError):
    """A portal page without a valid partner session: the handler sends the browser to sign in."""

    status_code = 401


class SignInLinkNotUsable(DomainError):
    """Unknown, expired or already used: the three are never told apart."""

    status_code = 410
