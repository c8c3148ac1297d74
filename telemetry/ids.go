package telemetry

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// newEventID returns a version-7 UUID for an event tracked at t: time-ordered, so
// the collector's index stays append-friendly, and random in its last 74 bits.
func newEventID(t time.Time) string {
	var b [16]byte
	rand.Read(b[6:]) // never fails: crypto/rand.Read panics rather than return an error
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return wire.FormatUUID(b)
}
