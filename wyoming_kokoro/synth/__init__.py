"""Step 4, synthesis: text → PCM, one worker pool shared by every request."""
