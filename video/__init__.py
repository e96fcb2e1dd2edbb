"""multissl.video: tracking emerging from video colorization."""
