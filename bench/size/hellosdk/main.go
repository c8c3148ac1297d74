// Command hellosdk is hello world with the Abacus SDK: it creates a client,
// tracks an event and closes it.
package main

import (
	"context"
	"fmt"

	"github.com/abacushq/abacus/telemetry"
)

func main() {
	fmt.Println("hello, world")
	c, _ := telemetry.New(telemetry.Config{Product: "hello", Version: "1.0.0", Endpoint: "https://telemetry.example.com"})
	c.Track("didSayHello", map[string]any{"words": 2})
	c.Close(context.Background())
}
