package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/verifier"
)

const vectorLicense = "../../testdata/vectors/typical.lic"

func TestStartsWithValidLicense(t *testing.T) {
	var out bytes.Buffer
	if err := start(&out, vectorLicense, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "enterprise edition, licensed to Globex Corp") || !strings.Contains(out.String(), "reports module enabled") {
		t.Fatalf("output: %s", out.String())
	}
}

func TestRefusesToStart(t *testing.T) {
	if err := start(&bytes.Buffer{}, vectorLicense, time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, verifier.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if err := start(&bytes.Buffer{}, filepath.Join(t.TempDir(), "none.lic"), time.Now()); err == nil {
		t.Fatal("started without a license")
	}
	b, _ := os.ReadFile(vectorLicense)
	bad := filepath.Join(t.TempDir(), "bad.lic")
	os.WriteFile(bad, bytes.Replace(b, []byte("A"), []byte("B"), 1), 0o644)
	if err := start(&bytes.Buffer{}, bad, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Fatal("started with a tampered license")
	}
}
