"""Hashtag sharing: customers submit their public posts; marketing moderates; approval grants a sample."""
