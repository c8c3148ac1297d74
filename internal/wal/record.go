package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Record framing. Every record is a 12-byte header followed by the payload:
//
//	offset size field
//	0      2    magic   0xAB 0x57
//	2      1    version 1
//	3      1    flags   0 (reserved; anything else is corruption)
//	4      4    length  payload length, little endian, <= MaxRecordBytes
//	8      4    crc     CRC-32C (Castagnoli), little endian, over bytes 4..8 (length) + payload
//	12     n    payload
const (
	headerSize = 12

	magic0  = 0xAB
	magic1  = 0x57
	version = 1

	// MaxRecordBytes is the largest payload one record may carry (16 MiB).
	MaxRecordBytes = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodedSize is the number of bytes a record of n payload bytes takes in a segment.
func encodedSize(n int) int64 { return headerSize + int64(n) }

// appendRecord appends the framed record to dst (the header is built in place: no
// allocation beyond growing dst).
func appendRecord(dst, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, magic0, magic1, version, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	h := dst[start : start+headerSize]
	binary.LittleEndian.PutUint32(h[4:8], uint32(len(payload)))
	crc := crc32.Update(0, castagnoli, h[4:8])
	crc = crc32.Update(crc, castagnoli, payload)
	binary.LittleEndian.PutUint32(h[8:12], crc)
	return append(dst, payload...)
}

// recordCRC is the checksum a record with this payload must carry.
func recordCRC(payload []byte) uint32 {
	var l [4]byte
	binary.LittleEndian.PutUint32(l[:], uint32(len(payload)))
	return crc32.Update(crc32.Update(0, castagnoli, l[:]), castagnoli, payload)
}

// tailError describes why the replay of one segment stopped before the end of its data.
type tailError struct {
	reason string
}

func (e *tailError) Error() string { return e.reason }

// scanSegment reads framed records from r, which holds exactly size bytes, calling fn for
// each valid record with the offset just past it. It stops at the first torn or corrupt
// record and returns the offset of the end of the last valid record (valid) and, when it
// stopped early, a *tailError saying why (everything from valid to size is unusable).
// Any other error is an I/O error of r or an error returned by fn.
//
// Allocation is bounded by size: a length field is trusted only after it has been checked
// against MaxRecordBytes and against the bytes that remain in the segment.
func scanSegment(r io.Reader, size int64, fn func(rec []byte, end int64) error) (valid int64, tail *tailError, err error) {
	bufSize := int64(256 << 10)
	if size < bufSize {
		bufSize = size
	}
	br := bufio.NewReaderSize(io.LimitReader(r, size), int(max(bufSize, 16)))
	var h [headerSize]byte
	off := int64(0)
	for off < size {
		remaining := size - off
		if remaining < headerSize {
			return off, &tailError{fmt.Sprintf("short header: %d bytes left", remaining)}, nil
		}
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return off, nil, readErr(err)
		}
		if h[0] != magic0 || h[1] != magic1 {
			return off, &tailError{fmt.Sprintf("bad magic %#02x%02x", h[0], h[1])}, nil
		}
		if h[2] != version || h[3] != 0 {
			return off, &tailError{fmt.Sprintf("unknown version %d / flags %#x", h[2], h[3])}, nil
		}
		n := int64(binary.LittleEndian.Uint32(h[4:8]))
		if n > MaxRecordBytes {
			return off, &tailError{fmt.Sprintf("bad length %d > max %d", n, MaxRecordBytes)}, nil
		}
		if n > remaining-headerSize {
			return off, &tailError{fmt.Sprintf("bad length %d: only %d bytes left", n, remaining-headerSize)}, nil
		}
		rec := make([]byte, n)
		if _, err := io.ReadFull(br, rec); err != nil {
			return off, nil, readErr(err)
		}
		want := binary.LittleEndian.Uint32(h[8:12])
		if got := recordCRC(rec); got != want {
			return off, &tailError{fmt.Sprintf("crc mismatch: stored %#08x, computed %#08x", want, got)}, nil
		}
		off += headerSize + n
		if err := fn(rec, off); err != nil {
			return off, nil, err
		}
	}
	return off, nil, nil
}

// readErr turns an early EOF (the file shrank under us) into a real error.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: segment shorter than its size: %w", ErrIO, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%w: read: %w", ErrIO, err)
}
