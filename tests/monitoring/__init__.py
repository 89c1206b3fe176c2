"""Tests of the collusion monitoring package (monitoring/)."""
