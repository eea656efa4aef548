"""The automation plugin: merchants' flows run on platform events, acting through the receiver.

It talks to the rest of the system over HTTP only (webhook in, action batch out).
"""
