"""One pretext task per file; :mod:`multissl.vision.registry` lists them by CLI name."""
