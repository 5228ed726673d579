"""Scripted dialogues (`chatrec script`): files, expectations, and running them locally or over HTTP."""
