from growth.core.errors import DomainError, Invalid, NotFound


class ApiKeyNotFound(NotFound):
    pass


class InvalidApiKey(DomainError):
    status_code = 401


class RoleNotAllowed(DomainError):
    status_code = 403


class InvalidKeyRequest(Invalid):
    pass


class RoleCannotSignIn(DomainError):
    """Partner and shop keys work with their APIs, not the dashboard."""

    status_code = 403


class SignInRequired(DomainError):
    """A dashboard page without a valid session: answered with a redirect to the sign-in page."""

    status_code = 401
