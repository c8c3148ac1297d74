package plan

import "encoding/json"

// MarshalJSON encodes the plan for GET /v1/plan:
//
//	{"product": "strapi", "k": 5,
//	 "setup": {"start": "willCreateProject", "done": "didStartServer", "within": "168h", "withinSeconds": 604800},
//	 "build": [{"name": "plugins", "type": "list", "max": 100, "items": {"type": "string", "pattern": "…"}}, …],
//	 "events": [{"name": "didStartServer", "description": "…",
//	             "properties": [{"name": "durationMs", "type": "int", "min": 0, "max": 86400000}]}, …]}
//
// Build keys, events and properties keep their declaration order; "build", "events" and
// "properties" are always arrays. "max" is a length for strings, an item count for lists and a
// bound for numbers; "setup" is left out when the plan declares none.
func (p *Plan) MarshalJSON() ([]byte, error) {
	out := jsonPlan{Product: p.Product, Description: p.Description, K: p.K,
		Build: jsonFields(p.Build), Events: make([]jsonEvent, 0, len(p.Events))}
	if p.Setup.Declared() {
		out.Setup = &jsonSetup{Start: p.Setup.Start, Done: p.Setup.Done,
			Within: formatDuration(p.Setup.Within), WithinSeconds: int64(p.Setup.Within.Seconds())}
	}
	for _, e := range p.Events {
		out.Events = append(out.Events, jsonEvent{Name: e.Name, Kind: e.Kind, Description: e.Description,
			Properties: jsonFields(e.Properties)})
	}
	return json.Marshal(out)
}

type jsonPlan struct {
	Product     string      `json:"product"`
	Description string      `json:"description,omitempty"`
	K           int         `json:"k"`
	Setup       *jsonSetup  `json:"setup,omitempty"`
	Build       []jsonField `json:"build"`
	Events      []jsonEvent `json:"events"`
}

type jsonSetup struct {
	Start         string `json:"start"`
	Done          string `json:"done"`
	Within        string `json:"within"`
	WithinSeconds int64  `json:"withinSeconds"`
}

type jsonEvent struct {
	Name        string      `json:"name"`
	Kind        string      `json:"kind,omitempty"`
	Description string      `json:"description,omitempty"`
	Properties  []jsonField `json:"properties"`
}

type jsonField struct {
	Name        string     `json:"name,omitempty"`
	Type        string     `json:"type"`
	Description string     `json:"description,omitempty"`
	Pattern     string     `json:"pattern,omitempty"`
	Values      []string   `json:"values,omitempty"`
	Min         any        `json:"min,omitempty"`
	Max         any        `json:"max,omitempty"`
	Items       *jsonField `json:"items,omitempty"`
}

func jsonFields(fs []*Field) []jsonField {
	out := make([]jsonField, 0, len(fs))
	for _, f := range fs {
		out = append(out, jsonFieldOf(f))
	}
	return out
}

func jsonFieldOf(f *Field) jsonField {
	j := jsonField{Name: f.Name, Type: f.Type, Description: f.Description, Pattern: f.Pattern, Values: f.Values}
	switch f.Type {
	case TypeString, TypeList:
		if f.Max > 0 {
			j.Max = f.Max
		}
	case TypeInt:
		if f.Min != nil {
			j.Min = *f.Min
		}
		if f.MaxInt != nil {
			j.Max = *f.MaxInt
		}
	case TypeFloat:
		if f.MinNum != nil {
			j.Min = *f.MinNum
		}
		if f.MaxNum != nil {
			j.Max = *f.MaxNum
		}
	}
	if f.Items != nil {
		it := jsonFieldOf(f.Items)
		j.Items = &it
	}
	return j
}
