"""notifgql: a GraphQL gateway for in-app notifications."""

__version__ = "0.1.0"
