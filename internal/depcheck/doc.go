// Package depcheck holds no code: its test checks that a program which only
// verifies licenses links no hardware reader, network, process, SQL or
// issuer/server code, on every OS a vendor ships to.
package depcheck
