"""archive: canonical signed records, the RFC 6962 Merkle log, checkpoints, retention and the
offline verifier (DESIGN §8).  Kept free of Flask imports so ``archive.verify`` stays standalone."""
