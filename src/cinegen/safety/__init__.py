"""The trust layer's policy side: moderation of requests (and, later, of outputs)."""
