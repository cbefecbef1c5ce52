//go:build !linux

package main

import (
	"bufio"
	"os"
)

// Elsewhere the password comes from --password-file.
func isTerminal(*os.File) bool { return false }

func readNoEcho(*os.File, *bufio.Reader) ([]byte, error) { return nil, errNoTerminal }
