module github.com/abacushq/abacus/telemetry

go 1.26
