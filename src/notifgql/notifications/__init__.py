"""The notification domain: every rule of the inbox, with no HTTP or GraphQL in it.

Every query and state change takes the viewer and is scoped to their inbox here, so no
door (GraphQL, JSON:API, CRM, subscriptions) can forget tenancy.
"""
