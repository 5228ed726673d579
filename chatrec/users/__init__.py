"""The user: interest vectors and their maths, and the tracker that updates them each turn."""
