module halfcast.example/example

go 1.19

require halfcast.example/halfcast v0.0.0

// The halfcast module in this checkout (bindings/go).
replace halfcast.example/halfcast => ../../bindings/go
