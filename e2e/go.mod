module github.com/abacushq/abacus/e2e

go 1.26.0

require (
	github.com/abacushq/abacus v0.0.0
	github.com/abacushq/abacus/telemetry v0.0.0
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)

replace (
	github.com/abacushq/abacus => ../
	github.com/abacushq/abacus/telemetry => ../telemetry
)
