"""Kursbot's domain: agencies, officers, courses, quotas, registrations and their rules.

Nothing in this package knows about Telegram; the bot layer (``bot/``) translates between chat
updates and the plain service functions defined here.
"""
