"""Error correction for the invisible watermark's payload.

The payload's bits get a CRC-16 (so that a decoder can tell a real payload from noise),
then a rate-1/2 convolutional code of constraint length 7 (generators 171 and 133 octal,
the code of Voyager and 802.11a), ended with six zero bits so every path closes on state
0. ``decode`` is a soft-decision Viterbi decoder: it takes one real number per coded bit
(positive for 1, negative for 0, magnitude for how sure) and returns the most likely
message, or None when the CRC does not hold.
"""

from __future__ import annotations

import numpy as np

CONSTRAINT = 7
GENERATORS = (0o171, 0o133)
STATES = 1 << (CONSTRAINT - 1)
TAIL = CONSTRAINT - 1
CRC_BITS = 16
_CRC_POLY = 0x1021  # CRC-16/CCITT


def coded_length(n_bits: int) -> int:
    """Coded bits for a message of ``n_bits`` (the CRC and the tail included)."""
    return 2 * (n_bits + CRC_BITS + TAIL)


def crc16(bits: np.ndarray) -> np.ndarray:
    """CRC-16/CCITT (initial value 0xFFFF) of a bit string, as 16 bits, most significant first."""
    register = 0xFFFF
    for bit in bits:
        top = (register >> 15) ^ int(bit)
        register = (register << 1) & 0xFFFF
        if top:
            register ^= _CRC_POLY
    return np.array([(register >> (15 - i)) & 1 for i in range(CRC_BITS)], np.uint8)


def _parity(x: np.ndarray) -> np.ndarray:
    """Parity of each integer's bits (for registers of at most 8 bits)."""
    x = x ^ (x >> 4)
    x = x ^ (x >> 2)
    x = x ^ (x >> 1)
    return x & 1


# The two coded bits leaving each state on input 0 and on input 1. A state holds the last
# six input bits, newest in the top bit; the register is the new bit above them.
_STATE = np.arange(STATES)
_OUTPUT = np.stack(
    [
        np.stack([_parity(((bit << TAIL) | _STATE) & g) for g in GENERATORS], axis=-1)
        for bit in (0, 1)
    ],
    axis=1,
)  # (state, input bit, 2)
_NEXT = np.stack([(bit << (TAIL - 1)) | (_STATE >> 1) for bit in (0, 1)], axis=1)


def encode(message: np.ndarray) -> np.ndarray:
    """The message's coded bits: message + CRC + tail, through the convolutional code."""
    bits = np.concatenate([message.astype(np.uint8), crc16(message), np.zeros(TAIL, np.uint8)])
    out = np.empty((len(bits), 2), np.uint8)
    state = 0
    for i, bit in enumerate(bits):
        out[i] = _OUTPUT[state, bit]
        state = _NEXT[state, bit]
    return out.ravel()


def decode(soft: np.ndarray, n_bits: int) -> np.ndarray | None:
    """The most likely ``n_bits`` message behind ``soft`` (one value per coded bit, >0 for
    1), or None when its CRC does not match (noise, or too many errors to correct)."""
    steps = n_bits + CRC_BITS + TAIL
    if soft.shape != (2 * steps,):
        raise ValueError(f"soft must hold {2 * steps} values, got {soft.shape}")
    pairs = soft.reshape(steps, 2)
    signed = 2.0 * _OUTPUT - 1.0  # (state, bit, 2): +1 for a coded 1, -1 for a coded 0
    metric = np.full(STATES, -np.inf)
    metric[0] = 0.0
    came_from = np.empty((steps, STATES), np.int64)  # the previous state of each survivor
    # A state is reached from two previous states, both by the same input bit (its top bit).
    previous = np.stack([(_STATE << 1) & (STATES - 1), ((_STATE << 1) & (STATES - 1)) | 1], 1)
    bit_in = _STATE >> (TAIL - 1)
    for i, pair in enumerate(pairs):
        gain = signed @ pair  # (state, bit): how well each branch matches
        candidates = metric[previous] + gain[previous, bit_in[:, None]]
        pick = np.argmax(candidates, axis=1)
        came_from[i] = previous[_STATE, pick]
        metric = candidates[_STATE, pick]
        if i >= steps - TAIL:  # the tail is zeros: only states whose top bit is 0 survive
            metric[bit_in == 1] = -np.inf
    state = 0
    bits = np.empty(steps, np.uint8)
    for i in range(steps - 1, -1, -1):
        bits[i] = state >> (TAIL - 1)
        state = came_from[i, state]
    message, check = bits[:n_bits], bits[n_bits : n_bits + CRC_BITS]
    return message if np.array_equal(crc16(message), check) else None
