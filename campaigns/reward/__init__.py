"""Reward rules of a campaign and the rewards customers earn, through their whole lifecycle."""
