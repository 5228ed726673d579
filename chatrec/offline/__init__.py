"""Offline work: metrics, `chatrec eval`, the datasets it reads, and training the query adapter."""
