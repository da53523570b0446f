"""cinegen-tiny: a toy text-to-video world that trains and runs offline on any CPU.

``vocab`` names the world's attributes and the words for them, ``toyworld`` renders clips and
writes their captions, ``analyse`` reads generated frames back and scores them against a prompt,
and ``selfcheck`` measures how good that ruler is on clean and degraded renders. Its sound:
``sound`` is the design and the synthesiser, ``audionet`` the network that hears the frames
(``train_audio`` trains it, ``soundtrack`` runs it), ``hear`` reads a waveform back.
"""
