module github.com/abacushq/abacus/bench

go 1.26.0

require (
	github.com/abacushq/abacus/telemetry v0.0.0
	github.com/posthog/posthog-go v1.5.2
	gopkg.in/segmentio/analytics-go.v3 v3.1.0
)

require (
	github.com/klauspost/compress v1.20.3 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)

require (
	github.com/abacushq/abacus v0.0.0
	github.com/segmentio/backo-go v1.1.0 // indirect
	github.com/xtgo/uuid v0.0.0-20140804021211-a0b114877d4c // indirect
)

replace github.com/abacushq/abacus/telemetry => ../telemetry

replace github.com/abacushq/abacus => ../
