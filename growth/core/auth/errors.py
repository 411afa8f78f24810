from growth.core.errors import DomainError, Invalid, NotFound


class ApiKeyNotFound(NotFound):
    pass


class InvalidApiKey(DomainError):
    status_code = 401


class RoleNotAllowed(DomainError):
    status_code = 403


class InvalidKeyRequest(Invalid):
    pass
