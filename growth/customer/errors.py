from growth.core.errors import Conflict, Invalid, NotFound


class CustomerNotFound(NotFound):
    pass


class CustomerDeleted(Conflict):
    pass


class InvalidCustomer(Invalid):
    pass
