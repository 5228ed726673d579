"""The one ranking pipeline: candidates, terms, weights, order, collaborative model, query adapter."""
