"""`AudioTrack`: the source clip's sound carried into the output MP4, interleaved with the
picture as it is written.

The first audio stream is copied packet by packet (no re-encoding, no quality lost) when MP4
can hold its codec; anything else (Vorbis from WebM, PCM from MOV or AVI, ...) is decoded and
re-encoded to AAC. Other streams (subtitles, data, more audio tracks) are dropped. The source is
opened a second time just for its sound, so the picture's reader and this never wait on each
other; `write_until(t)` muxes what lies before t.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.audio.stream
import av.container
import av.error
from av.audio.resampler import AudioResampler

log = logging.getLogger(__name__)

# Audio codecs the MP4 muxer stores as they are.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "ac3", "eac3"})
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
AAC_BITRATE = 128_000


class AudioTrack:
    def __init__(self, source: Path, output: av.container.OutputContainer) -> None:
        self._input = av.open(str(source), "r")
        self._in_stream: av.audio.stream.AudioStream = self._input.streams.audio[0]
        self.copied = self._in_stream.codec_context.name in MP4_AUDIO_CODECS
        self._output = output
        self._resampler: AudioResampler | None = None
        if self.copied:
            self._out_stream = output.add_stream_from_template(self._in_stream)
        else:
            rate = self._in_stream.codec_context.sample_rate or 48000
            rate = rate if rate in AAC_RATES else 48000
            channels = self._in_stream.codec_context.channels or 2
            layout = "mono" if channels == 1 else "stereo"
            self._out_stream = output.add_stream("aac", rate=rate, layout=layout)
            self._out_stream.bit_rate = AAC_BITRATE
            self._resampler = AudioResampler(format="fltp", layout=layout, rate=rate)
        self._packets = self._in_packets()
        self._pending: av.Packet[av.audio.stream.AudioStream] | None = None
        self.codec = self._in_stream.codec_context.name
        self.bytes_written = 0

    def _in_packets(self) -> Iterator[av.Packet[av.audio.stream.AudioStream]]:
        try:
            for packet in self._input.demux(self._in_stream):
                if packet.dts is None and packet.size == 0:
                    continue
                yield packet
        except av.error.FFmpegError as error:  # a damaged tail: keep what came before it
            log.info("audio stops early: %s", error)

    def write_until(self, seconds: float | None) -> None:
        """Mux the source's sound up to `seconds` (all of it for None)."""
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            time_base = packet.time_base or self._in_stream.time_base or Fraction(1, 1)
            at = packet.dts if packet.dts is not None else packet.pts
            if seconds is not None and at is not None and float(at * time_base) > seconds:
                self._pending = packet
                return
            self._write(packet)

    def _write(self, packet: av.Packet[av.audio.stream.AudioStream]) -> None:
        if self._resampler is None:
            if packet.dts is None:
                return
            self.bytes_written += packet.size
            packet.stream = self._out_stream
            self._output.mux(packet)
            return
        try:
            frames = list(packet.decode())
        except av.error.FFmpegError as error:
            log.info("skipping a damaged audio packet: %s", error)
            return
        for frame in frames:
            frame.pts = None  # the resampler and encoder count samples themselves
            for resampled in self._resampler.resample(frame):
                self._encode(resampled)

    def _encode(self, frame: av.AudioFrame | None) -> None:
        for out_packet in self._out_stream.encode(frame):
            self.bytes_written += out_packet.size
            self._output.mux(out_packet)

    def finish(self) -> None:
        """Mux the rest of the sound and flush the encoder (before the output is closed)."""
        self.write_until(None)
        if self._resampler is not None:
            for resampled in self._resampler.resample(None):
                self._encode(resampled)
            self._encode(None)
        self.close()

    def close(self) -> None:
        self._input.close()
