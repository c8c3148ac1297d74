module github.com/abacushq/abacus/clients/node/test/gosdk

go 1.26

require github.com/abacushq/abacus/telemetry v0.0.0

replace github.com/abacushq/abacus/telemetry => ../../../../telemetry
