"""Files customers send (images, voice notes): stored on disk, referenced from the tracker."""
from attachments.store import AttachmentStore, is_valid_id

__all__ = ["AttachmentStore", "is_valid_id"]
