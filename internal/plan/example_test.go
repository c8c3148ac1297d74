package plan_test

import (
	"fmt"

	"github.com/abacushq/abacus/internal/plan"
	"github.com/abacushq/abacus/telemetry/wire"
)

func ExamplePlan_Apply() {
	p := plan.Default()
	e := &wire.Event{
		Event:      "didStartServer",
		Product:    wire.Product{Name: "strapi", Version: "5.3.1"},
		Build:      map[string]any{"typescript": true, "databaseHost": "db.internal"},
		Properties: map[string]any{"durationMs": 1234.0},
	}
	dropped, err := p.Apply(e)
	fmt.Println(dropped, err, e.Build)

	e.Properties["durationMs"] = -5.0
	_, err = p.Apply(e)
	fmt.Println(err)
	// Output:
	// [build.databaseHost] <nil> map[typescript:true]
	// properties.durationMs: expected an integer from 0 to 86400000, got -5
}

func ExampleParse() {
	_, err := plan.Parse("plan.yaml", []byte(`product: strapi
events:
  didStartServer:
    properties:
      durationMs: {type: integer}
`))
	fmt.Println(err)
	// Output:
	// plan.yaml:5: events.didStartServer.properties.durationMs: unknown type "integer", expected one of string, enum, int, float, bool, list, semver
}
