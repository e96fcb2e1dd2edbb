"""multissl.audio: Contrastive Predictive Coding on speech and speaker clustering."""
