package compat

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/abacushq/abacus/telemetry/wire"
)

// strapiBody is what a Strapi sender posts to /api/v2/track.
type strapiBody struct {
	Event           string         `json:"event"`
	InstallID       string         `json:"installId"`
	DeviceID        string         `json:"deviceId"`
	EventProperties map[string]any `json:"eventProperties"`
	UserProperties  map[string]any `json:"userProperties"`
	GroupProperties map[string]any `json:"groupProperties"`
	// userId (an admin user's hash) is never read.
}

// strapiJSON is Strapi's mapping through encoding/json, for the bodies the
// one-pass mapping declines.
func (m *Mapper) strapiJSON(body []byte, receivedAt time.Time) (Result, *Error) {
	var in strapiBody
	if err := decode(body, &in); err != nil {
		return Result{}, jsonError(err)
	}
	if in.Event == "" {
		return Result{}, badBody("event: missing, expected the event's name")
	}
	b := &batch{m: m}
	client := in.InstallID
	if client == "" {
		client = in.DeviceID
	}
	up, gp := in.UserProperties, in.GroupProperties
	e := wire.Event{
		ID:        randomID(),
		Event:     in.Event,
		Timestamp: receivedAt,
		ProjectID: str(gp["projectId"]),
		Product:   wire.Product{Version: shape(str(gp["version"]))},
		Context: wire.Context{
			OS:             shape(platform(str(up["osPlatform"]))),
			OSVersion:      shape(str(up["osRelease"])),
			Arch:           shape(arch(str(up["osArch"]))),
			RuntimeVersion: shape(strings.TrimPrefix(str(up["nodeVersion"]), "v")),
			CI:             truthy(gp["isCI"]),
			Docker:         truthy(gp["docker"]),
			SDK:            "strapi-telemetry",
		},
		Properties: properties(in.EventProperties),
	}
	if e.Context.RuntimeVersion != "" {
		e.Context.Runtime = "node"
	}
	env := str(up["environment"])
	if env == "" {
		env = str(gp["environment"])
	}
	e.Environment = environment(env)
	if client != "" {
		e.MachineID = m.MachineID(client)
	}
	for _, f := range m.plan.Build {
		if v, ok := gp[f.Name]; ok {
			if e.Build == nil {
				e.Build = map[string]any{}
			}
			e.Build[f.Name] = v
		}
	}
	b.add(e)
	return b.done()
}

// platform maps Node's os.platform() to the native OS names.
func platform(s string) string {
	if s == "win32" {
		return "windows"
	}
	return s
}

// arch maps Node's os.arch() to the native architecture names.
func arch(s string) string {
	switch s {
	case "x64":
		return "amd64"
	case "ia32":
		return "386"
	}
	return s
}

// posthogEvent is one PostHog capture.
type posthogEvent struct {
	Event      string                     `json:"event"`
	DistinctID json.RawMessage            `json:"distinct_id"`
	Properties map[string]json.RawMessage `json:"properties"`
	Timestamp  flexTime                   `json:"timestamp"`
	UUID       string                     `json:"uuid"`
	APIKey     string                     `json:"api_key"`
	Token      string                     `json:"token"`
}

type posthogBody struct {
	posthogEvent
	Batch  []posthogEvent `json:"batch"`
	SentAt flexTime       `json:"sent_at"`
}

// posthogNotTrack are PostHog's calls that are not captures of an event.
var posthogNotTrack = map[string]bool{
	"$identify": true, "$groupidentify": true, "$create_alias": true, "$set": true,
	"$pageview": true, "$pageleave": true, "$screen": true, "$autocapture": true,
}

// postHogJSON is PostHog's mapping through encoding/json, for the bodies the
// one-pass mapping declines.
func (m *Mapper) postHogJSON(body []byte, receivedAt time.Time) (Result, *Error) {
	var in posthogBody
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) > 0 && t[0] == '[' {
		if err := decode(body, &in.Batch); err != nil {
			return Result{}, jsonError(err)
		}
	} else {
		if err := decode(body, &in); err != nil {
			return Result{}, jsonError(err)
		}
		if in.Batch == nil {
			if in.Event == "" {
				return Result{}, badBody("batch: missing, expected an array of events or one event with \"event\"")
			}
			in.Batch = []posthogEvent{in.posthogEvent}
		}
	}
	if len(in.Batch) == 0 {
		return Result{}, badBody("batch: expected at least 1 event, got an empty array")
	}
	b := &batch{m: m}
	b.key(in.APIKey)
	for i := range in.Batch {
		pe := &in.Batch[i]
		p := pe.Properties
		b.key(pe.APIKey)
		b.key(pe.Token)
		b.key(rawStr(p["token"]))
		if pe.Event == "" {
			b.res.count(Invalid)
			continue
		}
		if posthogNotTrack[pe.Event] && m.plan.Event(pe.Event) == nil {
			b.res.count(NotTrack)
			continue
		}
		e := wire.Event{
			Event:       pe.Event,
			Timestamp:   eventTime(pe.Timestamp, in.SentAt, receivedAt),
			Environment: environment(rawStr(p["environment"])),
			Product:     wire.Product{Version: shape(rawStr(p["$app_version"]))},
			Context: wire.Context{
				OS:        shape(strings.ToLower(rawStr(p["$os"]))),
				OSVersion: shape(rawStr(p["$os_version"])),
				SDK:       sdk(rawStr(p["$lib"]), rawStr(p["$lib_version"])),
			},
			Properties: properties(p),
		}
		delete(e.Properties, "environment")
		delete(e.Properties, "projectId")
		delete(e.Properties, "token")
		e.ProjectID = rawStr(rawObj(p["$groups"])["project"])
		if e.ProjectID == "" {
			e.ProjectID = rawStr(p["projectId"])
		}
		if id := idString(pe.DistinctID); id != "" {
			e.MachineID = m.MachineID(id)
		}
		if wire.IsUUID(pe.UUID) {
			e.ID = strings.ToLower(pe.UUID)
		} else if pe.UUID != "" {
			e.ID = m.EventID(PostHog, pe.UUID)
		} else {
			e.ID = randomID()
		}
		b.add(e)
	}
	return b.done()
}

// segmentMessage is one Segment call.
type segmentMessage struct {
	Type        string                     `json:"type"`
	Event       string                     `json:"event"`
	MessageID   string                     `json:"messageId"`
	AnonymousID json.RawMessage            `json:"anonymousId"`
	UserID      json.RawMessage            `json:"userId"`
	Timestamp   flexTime                   `json:"timestamp"`
	Properties  map[string]json.RawMessage `json:"properties"`
	Context     map[string]json.RawMessage `json:"context"`
	WriteKey    string                     `json:"writeKey"`
}

type segmentBody struct {
	segmentMessage
	Batch  []segmentMessage `json:"batch"`
	SentAt flexTime         `json:"sentAt"`
}

// segmentJSON is Segment's mapping through encoding/json, for the bodies the
// one-pass mapping declines.
func (m *Mapper) segmentJSON(body []byte, single bool, basicUser string, receivedAt time.Time) (Result, *Error) {
	var in segmentBody
	if err := decode(body, &in); err != nil {
		return Result{}, jsonError(err)
	}
	if single {
		if in.Type == "" {
			in.Type = "track"
		}
		in.Batch = []segmentMessage{in.segmentMessage}
	} else if len(in.Batch) == 0 {
		return Result{}, badBody("batch: missing or empty, expected an array of calls")
	}
	b := &batch{m: m}
	b.key(basicUser)
	b.key(in.WriteKey)
	shared := in.segmentMessage.Context
	for i := range in.Batch {
		sm := &in.Batch[i]
		b.key(sm.WriteKey)
		if sm.Type != "track" {
			b.res.count(NotTrack)
			continue
		}
		if sm.Event == "" {
			b.res.count(Invalid)
			continue
		}
		ctx := func(k string) json.RawMessage {
			if v, ok := sm.Context[k]; ok {
				return v
			}
			return shared[k]
		}
		osm, lib, app := rawObj(ctx("os")), rawObj(ctx("library")), rawObj(ctx("app"))
		p := sm.Properties
		env := rawStr(p["environment"])
		if env == "" {
			env = rawStr(ctx("environment"))
		}
		e := wire.Event{
			Event:       sm.Event,
			Timestamp:   eventTime(sm.Timestamp, in.SentAt, receivedAt),
			Environment: environment(env),
			Product:     wire.Product{Version: shape(rawStr(app["version"]))},
			Context: wire.Context{
				OS:        shape(strings.ToLower(rawStr(osm["name"]))),
				OSVersion: shape(rawStr(osm["version"])),
				SDK:       sdk(rawStr(lib["name"]), rawStr(lib["version"])),
			},
			Properties: properties(p),
		}
		delete(e.Properties, "environment")
		delete(e.Properties, "projectId")
		e.ProjectID = rawStr(ctx("groupId"))
		if e.ProjectID == "" {
			e.ProjectID = rawStr(p["projectId"])
		}
		client := idString(sm.AnonymousID)
		if client == "" {
			client = idString(sm.UserID)
		}
		if client != "" {
			e.MachineID = m.MachineID(client)
		}
		if sm.MessageID != "" {
			e.ID = m.EventID(Segment, sm.MessageID)
		} else {
			e.ID = randomID()
		}
		b.add(e)
	}
	return b.done()
}

// idString reads a client ID sent as a string or a number.
func idString(r json.RawMessage) string {
	if len(r) > 0 && (r[0] == '-' || r[0] >= '0' && r[0] <= '9') {
		return string(r)
	}
	return rawStr(r)
}

// rawStr returns the string r holds, or "" when r is not a string.
func rawStr(r json.RawMessage) string {
	if len(r) < 2 || r[0] != '"' {
		return ""
	}
	if bytes.IndexByte(r, '\\') < 0 {
		return string(r[1 : len(r)-1])
	}
	var s string
	json.Unmarshal(r, &s)
	return s
}

// rawObj returns the members of the object r holds, or nil.
func rawObj(r json.RawMessage) map[string]json.RawMessage {
	if len(r) == 0 || r[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	json.Unmarshal(r, &m)
	return m
}
