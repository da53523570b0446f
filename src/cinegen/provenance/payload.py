"""What the invisible watermark carries: 16 bits naming the server, 32 naming the task.

Light on purpose (no video or image libraries): the task queue stamps every task's mark at
submit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

SERVER_BITS, TASK_BITS = 16, 32
PAYLOAD_BITS = SERVER_BITS + TASK_BITS


@dataclass(frozen=True)
class Payload:
    """What a mark says: which server made the file and a 32-bit hash of its task."""

    server: int
    task: int

    def __post_init__(self) -> None:
        if not 0 <= self.server < 1 << SERVER_BITS:
            raise ValueError(f"server must fit in {SERVER_BITS} bits, got {self.server}")
        if not 0 <= self.task < 1 << TASK_BITS:
            raise ValueError(f"task must fit in {TASK_BITS} bits, got {self.task}")

    def bits(self) -> np.ndarray:
        value = (self.server << TASK_BITS) | self.task
        return np.array(
            [(value >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)], np.uint8
        )

    @classmethod
    def from_bits(cls, bits: np.ndarray) -> Payload:
        value = int("".join(str(int(b)) for b in bits), 2)
        return cls(value >> TASK_BITS, value & ((1 << TASK_BITS) - 1))

    def __str__(self) -> str:
        return f"{self.server:04x}-{self.task:08x}"


def task_mark(task_id: str) -> int:
    """The 32 bits of a task id that a mark carries."""
    return int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:4], "big")


def server_mark(anchors: bytes) -> int:
    """The 16 bits that name a server: from its trust anchors (PEM), so that every machine
    signing under one certificate authority marks with the same id. The first
    certificate's DER bytes are hashed: line endings and what else the file holds do not
    change the id."""
    try:
        anchor = x509.load_pem_x509_certificates(anchors)[0].public_bytes(Encoding.DER)
    except (ValueError, IndexError):  # not PEM certificates: the bytes as they are
        anchor = anchors
    return int.from_bytes(hashlib.sha256(anchor).digest()[:2], "big")
