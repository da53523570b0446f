"""Pyramid Flow (jy0205/Pyramid-Flow, MIT), written here: it is not in diffusers.

``model.py`` the miniFLUX transformer, ``vae.py`` the causal video VAE, ``text.py`` CLIP-L
and T5, ``sampler.py`` the pyramid flow-matching sampler, ``pipeline.py`` them end to end
from the published folder, ``backend.py`` the cinegen backend, ``tiny.py`` the random twin.
docs/pyramid-flow.md says what was checked against the reference's code."""
