package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// checkContentType accepts application/json, in any case, with parameters; a charset
// parameter must say utf-8.
func checkContentType(h http.Header) *Error {
	v := h.Get("Content-Type")
	if v == "application/json" {
		return nil
	}
	if v == "" {
		return &Error{http.StatusUnsupportedMediaType, "Content-Type: expected application/json, got none"}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || mt != "application/json" {
		return &Error{http.StatusUnsupportedMediaType, "Content-Type: expected application/json, got " + quoteHeader(v)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return &Error{http.StatusUnsupportedMediaType, "Content-Type: expected charset utf-8, got " + quoteHeader(cs)}
	}
	return nil
}

// contentEncoding reports whether the body is gzip. identity (or no header) is plain;
// anything else, or gzip twice, is a 400.
func contentEncoding(h http.Header) (gz bool, e *Error) {
	vs := h.Values("Content-Encoding")
	if len(vs) == 0 {
		return false, nil
	}
	if len(vs) == 1 && vs[0] == "gzip" {
		return true, nil
	}
	n := 0
	for _, v := range vs {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			switch {
			case tok == "" || strings.EqualFold(tok, "identity"):
			case strings.EqualFold(tok, "gzip") || strings.EqualFold(tok, "x-gzip"):
				n++
			default:
				return false, badRequest("Content-Encoding: expected gzip or identity, got " + quoteHeader(tok))
			}
		}
	}
	if n > 1 {
		return false, badRequest("Content-Encoding: expected gzip at most once")
	}
	return n == 1, nil
}

// quoteHeader quotes a header value for a message when it is short and made of token
// characters; anything else is described by its length only.
func quoteHeader(v string) string {
	if len(v) > 64 {
		return "a value of " + strconv.Itoa(len(v)) + " bytes"
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "a value with unusual characters"
		}
	}
	return strconv.Quote(v)
}

// readWire reads the request body from src into sc (within MaxBody), holding
// its bytes in acct. The result is only valid until sc goes back to the pool.
func (p *Pipeline) readWire(r *http.Request, src io.Reader, sc *scratch, acct *account, gz bool) ([]byte, *Error) {
	if r.ContentLength > p.lim.MaxBody {
		return nil, p.msgBodyTooBig
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, badRequest("body: empty, expected a JSON object")
	}
	// Allocate for the announced length only up to a first step: a sender that
	// announces a large body and sends nothing gets little memory.
	hint := 0
	if r.ContentLength > 0 {
		hint = int(min(r.ContentLength+1, budgetStep))
	}
	buf, over, err := readLimited(sc.wire[:0], src, p.lim.MaxBody, hint, acct, 0)
	sc.wire = buf
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, p.msgBodyTooBig
		case err == errSlow:
			return nil, p.slowBody()
		case err == errBudget:
			return nil, errBusy
		}
		return nil, badRequest("body: could not be read: " + err.Error())
	}
	if over {
		return nil, p.msgBodyTooBig
	}
	if len(buf) == 0 {
		if gz {
			return nil, badRequest("body: invalid gzip data: empty")
		}
		return nil, badRequest("body: empty, expected a JSON object")
	}
	return buf, nil
}

// readLimited appends r's bytes to dst up to limit; over reports that r had more.
// Each read is covered first by acct, which holds base bytes for other buffers:
// past the budget it fails with errBudget.
func readLimited(dst []byte, r io.Reader, limit int64, hint int, acct *account, base int64) (buf []byte, over bool, err error) {
	if hint > 0 && int64(hint) <= limit+1 && cap(dst) < hint {
		dst = make([]byte, 0, hint)
	}
	for {
		if len(dst) == cap(dst) {
			if int64(len(dst)) > limit {
				return dst, true, nil
			}
			dst = append(dst, 0)[:len(dst)] // grow
		}
		room := dst[len(dst):cap(dst)]
		if rest := limit + 1 - int64(len(dst)); int64(len(room)) > rest {
			room = room[:rest]
		}
		if len(room) > budgetStep {
			room = room[:budgetStep]
		}
		if !acct.cover(base + int64(len(dst)+len(room))) {
			return dst, false, errBudget
		}
		n, err := r.Read(room)
		dst = dst[:len(dst)+n]
		if int64(len(dst)) > limit {
			return dst, true, nil
		}
		if err == io.EOF {
			return dst, false, nil
		}
		if err != nil {
			return dst, false, err
		}
	}
}

// gzState is a pooled gunzip reader: klauspost/compress inflates about twice
// as fast as compress/gzip, the same format and the same errors.
type gzState struct {
	br bytes.Reader
	zr gzip.Reader
}

var gzPool = sync.Pool{New: func() any { return new(gzState) }}

func (p *Pipeline) gunzip(sc *scratch, compressed []byte, acct *account) ([]byte, *Error) {
	g := gzPool.Get().(*gzState)
	defer gzPool.Put(g)
	g.br.Reset(compressed)
	if err := g.zr.Reset(&g.br); err != nil {
		return nil, gzipError(err)
	}
	// A body whose gzip trailer announces a large size needs one of the few
	// turns of large bodies before it is inflated at all; one that lies is
	// caught by acct as it grows.
	if n := len(compressed); n >= 4 && int64(binary.LittleEndian.Uint32(compressed[n-4:])) > SmallBody && !acct.claimBig() {
		return nil, errBusy
	}
	dst := sc.plain[:0]
	base := int64(len(compressed))
	if want := 8 * len(compressed); cap(dst) < want && int64(want) <= p.lim.MaxDecoded && acct.cover(base+int64(want)) {
		dst = make([]byte, 0, want)
	}
	dst, over, err := readLimited(dst, &g.zr, p.lim.MaxDecoded, 0, acct, base)
	sc.plain = dst
	g.br.Reset(nil)
	if over {
		return nil, p.msgPlainTooBig
	}
	if err == errBudget {
		return nil, errBusy
	}
	if err != nil {
		return nil, gzipError(err)
	}
	if len(dst) == 0 {
		return nil, badRequest("body: empty after gunzip, expected a JSON object")
	}
	return dst, nil
}

func gzipError(err error) *Error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return badRequest("body: invalid gzip data: " + err.Error())
}

// checkUTF8 rejects a body that is not valid UTF-8, saying where.
func checkUTF8(b []byte) *Error {
	if utf8.Valid(b) {
		return nil
	}
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return badRequest("body: invalid UTF-8 at byte " + strconv.Itoa(i))
		}
		i += n
	}
	return badRequest("body: invalid UTF-8")
}
