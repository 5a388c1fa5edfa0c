"""The GraphQL door: a Strawberry schema over the notification domain."""
