module github.com/seatkey/seatkey

go 1.26.8

require (
	github.com/fxamacker/cbor/v2 v2.10.0
	github.com/spf13/pflag v1.1.0
	github.com/veraison/go-cose v1.3.0
	golang.org/x/crypto v0.58.0
)

require (
	github.com/x448/float16 v0.8.4 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
