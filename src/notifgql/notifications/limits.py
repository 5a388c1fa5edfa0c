"""Every bound on what a client may ask for, in one place; each door uses these.

Each number is named for what it bounds: three limits happen to be 1,000 items today, yet
they bound different things and may change apart.
"""

from __future__ import annotations

# Characters in a recipient, organization or actor id (see notifgql.ids).
MAX_OPAQUE_ID_LENGTH = 255

# Ids one filter may name (GraphQL ``filter.ids``, JSON:API ``filter[id]``).
MAX_FILTER_IDS = 1_000
# Ids one markSeen call may mark.
MAX_MARK_IDS = 1_000
# Operations in one CRM PATCH; all are checked before any is applied.
MAX_CRM_OPERATIONS = 1_000

# Page numbers run from 1 to this: far beyond any real inbox, yet its offset still fits
# every database's integer arithmetic even at the largest page size.
MAX_PAGE_NUMBER = 10_000_000
# Rows per page or window, and the sizes used when a client names none.
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 30
DEFAULT_CRM_PAGE_SIZE = 100
# A cursor this server writes is 36 characters; a much longer one is refused unread.
MAX_CURSOR_LENGTH = 64

# Characters in a new notification's title, and in any other of its texts.
MAX_TITLE_LENGTH = 1_000
MAX_TEXT_LENGTH = 10_000
# newActivitiesCount is stored as a 32-bit integer.
MAX_ACTIVITIES_COUNT = 2**31 - 1
# A changeset's encoded size, and its nesting: responses wrap a changeset a few levels
# deep (data, list, node, attributes) and JSON encoders stop at a fixed depth (orjson:
# 254), so the input's own depth is bounded far below.
MAX_CHANGESET_BYTES = 64 * 1024
MAX_CHANGESET_DEPTH = 64

# Recipients of one publish (after duplicates are dropped), and how many of them one
# INSERT … ON CONFLICT statement writes: both databases bind at most 32,767 parameters, and
# a row binds about 30.
MAX_PUBLISH_RECIPIENTS = 10_000
PUBLISH_BATCH_SIZE = 1_000
# Characters in a group key or an idempotency key.
MAX_KEY_LENGTH = 255
# Hours an idempotency key answers its retries with its first result.
IDEMPOTENCY_KEY_HOURS = 24

# How far ahead a notification may be snoozed.
MAX_SNOOZE_DAYS = 365
# Mute rules one user may keep: each publish checks its recipients' rules.
MAX_MUTE_RULES = 100
# A notification's category (its inbox tab) and tags, in characters and in number; a filter
# may ask for at most as many tags as a notification can have.
MAX_CATEGORY_LENGTH = 100
MAX_TAGS = 20
MAX_TAG_LENGTH = 100
# Actions on one notification, and the characters of each one's id, label and URL.
MAX_ACTIONS = 10
MAX_ACTION_ID_LENGTH = 100
MAX_ACTION_LABEL_LENGTH = 200
MAX_ACTION_URL_LENGTH = 2_000
