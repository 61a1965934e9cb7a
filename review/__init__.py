"""The review inbox: conversations from the tracker store → scrubbed, approved training data."""
