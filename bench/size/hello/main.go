// Command hello is the baseline of the binary-size measurement: hello world.
package main

import "fmt"

func main() { fmt.Println("hello, world") }
