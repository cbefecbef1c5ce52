// Package winetest holds no code: its test runs seatkey's Windows build under
// Wine (the pure packages' test binaries, and the CLI verifying a license), so
// that Linux CI proves the Windows build works. .ci/wine-tests runs it.
package winetest
