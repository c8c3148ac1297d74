module github.com/abacushq/abacus

go 1.26

require (
	github.com/abacushq/abacus/telemetry v0.0.0
	go.yaml.in/yaml/v3 v3.0.6
)

replace github.com/abacushq/abacus/telemetry => ./telemetry
