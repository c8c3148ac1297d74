package ingest

// The encoding/json-based decoding of events, kept as the reference that the hand-written
// decoder (decode.go) is checked against by FuzzDecodeEquivalence. It is the code of
// event.go before that decoder, with its functions renamed; what both share (the plan,
// typed, takeBuild, the re-keying) is not repeated.

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/abacushq/abacus/internal/store"
)

// eventRef is the encoding/json-based event, as it was before the hand-written decoder:
// the reference of FuzzDecodeEquivalence. It checks and converts one event. On success it fills out and returns msg == "".
// A rejection returns its reason and message; bad reports invalid JSON, which fails
// the whole request.
func (p *Pipeline) eventRef(sc *scratch, rc *reqCtx, raw []byte, out *store.Event) (reason, msg string, bad bool) {
	sc.droppedBuild, sc.droppedProps = 0, 0
	if raw[0] != '{' {
		if !json.Valid(raw) {
			return "", "", true
		}
		return ReasonSchema, msgNotObject + describeJSON(raw[0]), false
	}
	if len(raw) > p.lim.MaxEventBytes {
		if !json.Valid(raw) {
			return "", "", true
		}
		return ReasonTooLarge, p.msgTooLarge, false
	}
	in := &sc.in
	*in = inEvent{}
	if err := json.Unmarshal(raw, in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return ReasonSchema, typeErrorMessageRef("", te), false
		}
		// A syntax error (the scanner only matched brackets): the body is malformed.
		return "", "", true
	}

	return p.finish(sc, rc, in, out, p.productRef, p.contextRef, p.buildRef)
}

// product decodes and checks the event's product object.
func (p *Pipeline) productRef(sc *scratch, raw []byte) productOutcome {
	if raw == nil {
		return productOutcome{reason: ReasonSchema, msg: p.msgNoProduct}
	}
	if o, ok := sc.prodMemo.get(raw); ok {
		return o
	}
	var o productOutcome
	if err := json.Unmarshal(raw, &o.v); err != nil {
		o = productOutcome{reason: ReasonSchema, msg: decodeMessageRef("product", err)}
	} else if o.v.Name == "" {
		o.reason, o.msg = ReasonSchema, p.msgNoProduct
	} else if m := checkShape("product.version", o.v.Version, false); m != "" {
		o.reason, o.msg = ReasonSchema, m
	}
	sc.prodMemo.put(raw, o)
	return o
}

// context decodes and checks the event's context object.
func (p *Pipeline) contextRef(sc *scratch, raw []byte) contextOutcome {
	if raw == nil {
		return contextOutcome{}
	}
	if o, ok := sc.ctxMemo.get(raw); ok {
		return o
	}
	var o contextOutcome
	if err := json.Unmarshal(raw, &o.v); err != nil {
		o = contextOutcome{reason: ReasonSchema, msg: decodeMessageRef("context", err)}
	} else if m := checkContext(&o.v); m != "" {
		o.reason, o.msg = ReasonSchema, m
	}
	sc.ctxMemo.put(raw, o)
	return o
}

// build decodes the event's build object, counts its keys and checks it against the plan.
// The outcome's m is only handed out by takeBuild.
func (p *Pipeline) buildRef(sc *scratch, raw []byte) buildOutcome {
	sc.buildCur = nil
	if raw == nil {
		return buildOutcome{}
	}
	if o, ok := sc.buildMemo.get(raw); ok {
		sc.buildCur = sc.buildMemo.last()
		return o
	}
	var o buildOutcome
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		o = buildOutcome{reason: ReasonSchema, msg: decodeMessageRef("build", err)}
	} else {
		o = p.checkBuild(m)
	}
	sc.buildMemo.put(raw, o)
	sc.buildCur = sc.buildMemo.last()
	return o
}

// decodeMessageRef describes an error of json.Unmarshal on a part of an event, already
// known to be valid JSON.
func decodeMessageRef(prefix string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return typeErrorMessageRef(prefix, te)
	}
	return prefix + ": expected valid JSON"
}

// typeErrorMessageRef turns a JSON type mismatch into a field message. The path comes from
// encoding/json and holds struct field names only (it stops at a map, so it never holds a
// client's key); prefix is the path of the decoded part. The value is described, never
// quoted.
func typeErrorMessageRef(prefix string, te *json.UnmarshalTypeError) string {
	field := te.Field
	switch {
	case prefix != "" && field != "":
		field = prefix + "." + field
	case prefix != "":
		field = prefix
	case field == "":
		field = "event"
	}
	got := gotKind(te.Value)
	if got == "a number out of range" && te.Type != nil && te.Type.Kind() >= reflect.Int && te.Type.Kind() <= reflect.Uint64 {
		got = "a number that is not an integer in range"
	}
	return field + ": expected " + expectedKind(te.Type) + ", got " + got
}

func expectedKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	if t == reflect.TypeFor[jsonTime]() || t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 time"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64, reflect.Interface:
		return "a finite number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "another type"
}

func gotKind(v string) string {
	switch {
	case v == "string":
		return "a string"
	case v == "bool":
		return "a boolean"
	case v == "array":
		return "an array"
	case v == "object":
		return "an object"
	case v == "number":
		return "a number"
	case strings.HasPrefix(v, "number "):
		return "a number out of range"
	}
	return "another type"
}
