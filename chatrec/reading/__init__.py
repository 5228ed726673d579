"""Reading a message: language, the genre and mood lexicon, critiques, and what a message says."""
