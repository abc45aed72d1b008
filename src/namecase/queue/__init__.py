"""The queue: the only code that writes `inbox` and `portal_queue` (DESIGN.md §2).

- `enqueue`: records in (ORM path, and the raw group inserts of /events), coalesced;
- `leases`: claim, renew, release a portal; make portals due;
- `inbox`: a portal's next batch, settling its outcome, replay, counts, pruning;
- `echoes`: the echo of our own write is held, not read again;
- `writer`: group commit of /events deliveries.
"""

from namecase.queue.enqueue import Enqueued, enqueue
from namecase.queue.models import InboxItem, PortalQueue, QueuedRecord

__all__ = ["Enqueued", "InboxItem", "PortalQueue", "QueuedRecord", "enqueue"]
