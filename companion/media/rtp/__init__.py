"""RTP-level forwarding: one small module per concern (VP8 payload, stream rewriting, packet history)."""
