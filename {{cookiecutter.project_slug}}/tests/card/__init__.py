"""Tests of the model card."""
