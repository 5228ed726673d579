"""Generators: llama.cpp and transformers backends, GPU batching, thread choice, packaged weights."""
