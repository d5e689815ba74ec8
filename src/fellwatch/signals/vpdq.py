"""vPDQ: PDQ hashes of a video's frames, one frame per second (configurable), as Meta's vPDQ.

Every frame is decoded (PyAV, from the item's stream, never a temp file) but only the first
frame at or after each sampling instant is hashed. Frames are downscaled before hashing: PDQ
reduces to 64x64 anyway, so hashing a 512-pixel frame instead of a 4K one changes nothing but
the time. The result lists `[frame_number, quality, pdq_hex, timestamp]` like vPDQ's text
format, `frame_number` counting every decoded frame from 0.
"""

from __future__ import annotations

from typing import Any, BinaryIO, ClassVar

import av
import numpy as np
import pdqhash

from fellwatch.errors import ItemError
from fellwatch.signals.base import register
from fellwatch.signals.thumbnail import FrameSampler

DEFAULT_SECONDS_PER_HASH = 1.0
DEFAULT_DOWNSCALE = 512


def pdq_hex(bits: np.ndarray) -> str:
    """pdqhash's 256 bits (most significant first) as the 64-character hex PDQ form."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


class VpdqSignal:
    name: ClassVar[str] = "vpdq"
    head_only: ClassVar[bool] = False

    def __init__(self, seconds_per_hash: float = DEFAULT_SECONDS_PER_HASH,
                 downscale: int = DEFAULT_DOWNSCALE) -> None:
        if seconds_per_hash <= 0:
            raise ValueError("seconds_per_hash must be positive")
        self.seconds_per_hash = seconds_per_hash
        self.downscale = downscale

    def applies_to(self, content_type: str) -> bool:
        return content_type.startswith("video/")

    def compute(self, content: BinaryIO, content_type: str) -> dict[str, Any] | None:
        try:
            return self._hash(content)
        except av.FFmpegError as exc:
            raise ItemError(f"video does not decode: {exc}") from exc

    def compute_with_frames(
        self, content: BinaryIO, content_type: str, sampler: FrameSampler
    ) -> dict[str, Any] | None:
        """`compute`, offering every hashed frame's pixels to `sampler` (the scan's frame
        strip is made from them instead of decoding the video a second time)."""
        try:
            return self._hash(content, sampler)
        except av.FFmpegError as exc:
            raise ItemError(f"video does not decode: {exc}") from exc

    def _hash(self, content: BinaryIO, sampler: FrameSampler | None = None) -> dict[str, Any]:
        frames: list[list[Any]] = []
        with av.open(content, mode="r") as container:
            if not container.streams.video:
                raise ItemError("no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            next_at = 0.0
            last_time = 0.0
            decoded = 0
            for frame in container.decode(stream):
                when = float(frame.time) if frame.time is not None else decoded / _rate(stream)
                last_time = max(last_time, when)
                if when + 1e-6 >= next_at:
                    rgb = self._rgb(frame)
                    bits, quality = pdqhash.compute(rgb)
                    if sampler is not None:
                        sampler.offer(rgb)
                    frames.append([decoded, int(quality), pdq_hex(bits), round(when, 3)])
                    next_at = when + self.seconds_per_hash
                decoded += 1
            if decoded == 0:
                raise ItemError("video has no decodable frames")
            # A truncated AVI opens and decodes what is there; its header still counts them all.
            if stream.frames and decoded < stream.frames * 0.98 - 1:
                raise ItemError(
                    f"video truncated or corrupt: decoded {decoded} of {stream.frames} frames"
                )
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration is not None and stream.time_base is not None
                else last_time + 1.0 / _rate(stream)
            )
        return {"frames": frames, "duration": round(duration, 3)}

    def _rgb(self, frame: av.VideoFrame) -> np.ndarray:
        width, height = frame.width, frame.height
        scale = self.downscale / max(width, height) if self.downscale else 1.0
        if scale < 1.0:
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        return frame.to_ndarray(format="rgb24", width=width, height=height)


def _rate(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else 25.0


register(VpdqSignal())
