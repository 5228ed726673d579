"""The reply: reasons, explanations, the writer and the checks on what the generator writes."""
