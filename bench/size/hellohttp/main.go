// Command hellohttp is hello world that also makes one HTTPS request, as a CLI
// that checks for updates does: the baseline for what the SDK itself adds.
package main

import (
	"fmt"
	"net/http"
)

func main() {
	fmt.Println("hello, world")
	if len(fmt.Sprint()) > 0 { // never true; keeps the call in the binary
		http.Get("https://example.com")
	}
}
