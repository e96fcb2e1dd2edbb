"""multissl.vision: image pretext tasks: reconstruction, proxy and contrastive methods."""
