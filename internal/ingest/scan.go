package ingest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/abacushq/abacus/internal/jsonscan"
)

// The envelope scanner.
//
// A batch body is split without decoding it twice: one pass over the bytes finds the
// top-level keys, the "sentAt" value and the span of every element of "events", and checks
// the nesting depth on the way. Every byte is still validated exactly once: each event span
// by the event decoder (decode.go), which validates as it decodes, the few other values
// (keys, unknown fields) by json.Valid. When anything is malformed, encoding/json is asked to
// check the whole body so that the message and position are its own (the earliest error in
// the body).

// span is a half-open byte range of the body.
type span struct{ start, end int }

// errSyntax reports a malformed body that encoding/json, unexpectedly, accepts.
var errSyntax = &Error{Status: 400, Msg: "body: invalid JSON"}

// errTooMany stands for "more than MaxEvents events"; Process substitutes its message.
var errTooMany = &Error{Status: 413}

type envelope struct {
	events    []span
	sentAt    time.Time
	hasSentAt bool
}

// scanBatch splits a batch body. spans is reused for the result.
func scanBatch(b []byte, spans []span, maxEvents int) (env envelope, e *Error) {
	env.events = spans
	i := skipWS(b, 0)
	if i == len(b) {
		return env, malformed(b)
	}
	if b[i] != '{' {
		return env, shapeError(b, "body: expected a JSON object, got "+describeJSON(b[i]))
	}
	var seenEvents, seenSentAt, seenBatch bool
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			// key
			if i >= len(b) || b[i] != '"' {
				return env, malformed(b)
			}
			kEnd := skipString(b, i)
			if kEnd < 0 {
				return env, malformed(b)
			}
			key, ok := objectKey(b[i:kEnd])
			if !ok {
				return env, malformed(b)
			}
			i = skipWS(b, kEnd)
			if i >= len(b) || b[i] != ':' {
				return env, malformed(b)
			}
			i = skipWS(b, i+1)
			if i >= len(b) {
				return env, malformed(b)
			}
			switch key {
			case "events":
				if seenEvents {
					return env, shapeError(b, "events: expected once, got a duplicate key")
				}
				seenEvents = true
				if b[i] != '[' {
					return env, shapeError(b, "events: expected an array, got "+describeJSON(b[i]))
				}
				var e *Error
				env.events, i, e = scanEvents(b, i, env.events, maxEvents)
				if e != nil {
					return env, e
				}
			case "sentAt":
				if seenSentAt {
					return env, shapeError(b, "sentAt: expected once, got a duplicate key")
				}
				seenSentAt = true
				end, e := skipValue(b, i, 1)
				if e != nil {
					return env, e
				}
				v := b[i:end]
				if !(len(v) == 4 && string(v) == "null") {
					if err := env.sentAt.UnmarshalJSON(v); err != nil {
						return env, shapeError(b, "sentAt: expected an RFC 3339 time")
					}
					env.hasSentAt = true
				}
				i = end
			default:
				// Unknown fields are ignored (forward compatibility), but must be valid JSON.
				seenBatch = seenBatch || key == "batch"
				end, e := skipValue(b, i, 1)
				if e != nil {
					return env, e
				}
				if !json.Valid(b[i:end]) {
					return env, malformed(b)
				}
				i = end
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return env, malformed(b)
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return env, malformed(b)
			}
			i = skipWS(b, i+1)
		}
	}
	if skipWS(b, i) != len(b) {
		return env, malformed(b)
	}
	if !seenEvents && seenBatch {
		return env, shapeError(b, "events: missing, expected an array of events; a body with \"batch\" is Segment's or PostHog's: post it to /segment/v1/batch or /posthog/batch/")
	}
	if !seenEvents {
		return env, shapeError(b, "events: missing, expected an array of events")
	}
	if len(env.events) == 0 {
		return env, badRequest("events: expected at least 1 event, got an empty array")
	}
	return env, nil
}

// scanEvents records the element spans of the events array starting at b[i] == '['.
func scanEvents(b []byte, i int, spans []span, maxEvents int) ([]span, int, *Error) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return spans, i + 1, nil
	}
	for {
		if i >= len(b) {
			return spans, i, malformed(b)
		}
		end, e := skipValue(b, i, 2)
		if e != nil {
			return spans, i, e
		}
		if len(spans) == maxEvents {
			return spans, i, errTooMany
		}
		spans = append(spans, span{i, end})
		i = skipWS(b, end)
		if i >= len(b) {
			return spans, i, malformed(b)
		}
		switch b[i] {
		case ']':
			return spans, i + 1, nil
		case ',':
			i = skipWS(b, i+1)
		default:
			return spans, i, malformed(b)
		}
	}
}

// scanSingle checks a /v1/track body: one JSON object, with nothing after it.
func scanSingle(b []byte) (span, *Error) {
	i := skipWS(b, 0)
	if i == len(b) {
		return span{}, malformed(b)
	}
	if b[i] != '{' {
		return span{}, shapeError(b, "body: expected a JSON object, got "+describeJSON(b[i]))
	}
	end, e := skipValue(b, i, 0)
	if e != nil {
		return span{}, e
	}
	if skipWS(b, end) != len(b) {
		return span{}, malformed(b)
	}
	return span{i, end}, nil
}

// objectKey returns the text of the key string s (with its quotes) when it is valid JSON.
func objectKey(s []byte) (string, bool) {
	inner := s[1 : len(s)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		for _, c := range inner {
			if c < 0x20 {
				return "", false
			}
		}
		switch string(inner) { // no allocation for the comparisons
		case "events":
			return "events", true
		case "sentAt":
			return "sentAt", true
		case "batch": // Segment's and PostHog's, named in the error when "events" is missing
			return "batch", true
		}
		return "", true // another unknown key: its text does not matter
	}
	var k string
	if err := json.Unmarshal(s, &k); err != nil {
		return "", false
	}
	return k, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"', or -1 when it is
// not terminated. It does not validate the string's content: a backslash escapes the byte
// after it, whatever it is.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		// Eight bytes at a time while none is '"' or '\\' (event strings are short: this
		// beats bytes.IndexByte).
		for len(b)-j >= 8 {
			x := binary.LittleEndian.Uint64(b[j:])
			q, bs := x^(jsonscan.Ones8*'"'), x^(jsonscan.Ones8*'\\')
			if ((q-jsonscan.Ones8)&^q|(bs-jsonscan.Ones8)&^bs)&jsonscan.Highs8 != 0 {
				break
			}
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		if j >= len(b) {
			return -1
		}
		if b[j] == '"' {
			return j + 1
		}
		j += 2
	}
}

// skipValue returns the index after the JSON value starting at b[i] (not whitespace),
// found by matching brackets outside strings; depth is the nesting of the position. It
// fails when brackets nest deeper than MaxDepth or are not closed; the content is left to
// the event decoder (or json.Valid) to validate.
func skipValue(b []byte, i, depth int) (int, *Error) {
	switch c := b[i]; c {
	case '"':
		end := skipString(b, i)
		if end < 0 {
			return 0, malformed(b)
		}
		return end, nil
	case '{', '[':
		d := 0
		for i < len(b) {
			if !scanStop[b[i]] {
				i++
				continue
			}
			switch b[i] {
			case '"':
				end := skipString(b, i)
				if end < 0 {
					return 0, malformed(b)
				}
				i = end
				continue
			case '{', '[':
				d++
				if depth+d > MaxDepth {
					return 0, badRequest("body: nested deeper than " + strconv.Itoa(MaxDepth) + " levels at byte " + strconv.Itoa(i))
				}
			case '}', ']':
				d--
				if d == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, malformed(b)
	case '}', ']', ',', ':':
		return 0, malformed(b)
	default:
		start := i
		for i < len(b) {
			switch b[i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r', ':', '"', '{', '[':
				if i == start {
					return 0, malformed(b)
				}
				return i, nil
			}
			i++
		}
		return i, nil
	}
}

// scanStop marks the bytes skipValue stops at inside an array or object.
var scanStop = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// noop accepts any JSON value without keeping it: unmarshalling into it only validates.
type noop struct{}

func (*noop) UnmarshalJSON([]byte) error { return nil }

// malformed reports the body as invalid JSON, with encoding/json's message and position.
func malformed(b []byte) *Error {
	if e := syntaxError(b); e != nil {
		return e
	}
	// The scanner found a fault that encoding/json does not see: a bug here, since the
	// scanner only fails on bodies encoding/json rejects. Report it without a position.
	return errSyntax
}

// syntaxError returns encoding/json's verdict on the whole body as a 400, or nil when the
// body is valid JSON.
func syntaxError(b []byte) *Error {
	err := json.Unmarshal(b, new(noop))
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		at := se.Offset
		if at > 0 && at <= int64(len(b)) && !bytes.HasPrefix([]byte(se.Error()), []byte("unexpected end")) {
			at-- // Offset counts the offending byte; report its index
		}
		return badRequest("body: invalid JSON at byte " + strconv.FormatInt(at, 10) + ": " + se.Error())
	}
	return badRequest("body: invalid JSON: " + err.Error())
}

// shapeError reports msg when the body is valid JSON, and the syntax error otherwise: a
// malformed body is always reported as such, whatever its shape.
func shapeError(b []byte, msg string) *Error {
	if e := syntaxError(b); e != nil {
		return e
	}
	return badRequest(msg)
}

// describeJSON names the kind of the JSON value that starts with c.
func describeJSON(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
