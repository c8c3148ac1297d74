module github.com/abacushq/abacus

go 1.26

require github.com/abacushq/abacus/telemetry v0.0.0

replace github.com/abacushq/abacus/telemetry => ./telemetry
